"""The detection methods: one module each, registered on import.

Importing this package imports every module in it, so each method's `register` call has run before
any rule is validated or run (`engine/__init__.py` imports it, and every `engine.*` import runs that
first). Adding a method is adding a module here; nothing else lists the methods.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
