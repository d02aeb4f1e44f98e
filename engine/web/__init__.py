"""The web app: server-rendered pages over the job service, served by `hindsight serve` at `/`.

Pages (one module each): `keys` (sign in with an API and application key), `rules` (library and
stored rules), `editor` (new rule / edit, validated as you type), `runs` (Run as historical job),
`jobs` (the live jobs list), `panel` (a job's summary, timeline and results), `results` (a
result's details and matched logs; Convert to Signal), `signals` (signals and their deliveries).
`create_server_app` is the API with the web app mounted beside it.
"""

from engine.web.app import create_server_app, create_web_app

__all__ = ["create_server_app", "create_web_app"]
