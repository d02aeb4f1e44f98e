"""Message templates (SPEC §3.18): variables, conditionals, helpers, errors, the rule corpus."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.errors import TemplateError
from engine.rules import template as template_module
from engine.rules.template import (
    LogFields,
    MessageContext,
    check_template,
    human_time,
    render_message,
    wrap_message,
)
from engine.rules.template_parse import parse_template
from tests.corpus import corpus_params

T = 1_704_067_200_000  # 2024-01-01T00:00:00Z

CONTEXT = MessageContext(
    rule_name="Brute force",
    case_name="high_volume",
    severity="high",
    timestamp_ms=T + 120_000,
    first_seen_ms=T,
    last_seen_ms=T + 180_000,
    events_matched=4,
    events_matched_per_query={"failures": 3, "success": 1},
    attributes={
        "usr": {"id": "alice", "roles": ["dev", "admin"]},
        "usr.flat": "flat-key",
        "network": {"client": {"ip": "10.2.3.4"}},
        "evt": {"name": ["chmod", "open", "utimes"], "outcome": "failure"},
        "http": {"status_code": 404, "url": "/a b?c=d&e", "bytes": "2048"},
        "geo": {"city": "Paris", "lat": 48.85},
        "events": [{"id": 1}, {"id": 2}],
        "ratio": 0.25,
        "count": 3.0,
        "admin": False,
        "zero": 0,
        "empty": "",
        "note": None,
        "word": "abc",
        "login": {"iso": "2024-07-01T12:00:00Z", "epoch_s": 1_719_835_200, "bad": "soon"},
    },
    log={
        "usr": {"id": "alice"},
        "evt": {"name": "chmod", "outcome": "failure"},
        "only_in_log": "from-log",
    },
    tags=[
        "env:prod",
        "source:auth",
        "dot.key.test:five",
        "team:sec",
        "team:ops",
        "pci",
        "service:auth-api",
    ],
    group_by={"@host.name": "web-1", "host": "web-1", "@usr.id": "alice"},
)


def render(template: str, **changes: Any) -> str:
    return render_message(template, dataclasses.replace(CONTEXT, **changes))


def case(template: str, expected: str, name: str) -> Any:
    """One table row: template, expected rendering, test id."""
    return pytest.param(template, expected, id=name)


VARIABLES = [
    case("{{timestamp}}", "Mon Jan 01 00:02:00 UTC 2024", "timestamp"),
    case("{{timestamp_epoch}}", "1704067320000", "timestamp_epoch"),
    case("{{first_seen}}", "Mon Jan 01 00:00:00 UTC 2024", "first_seen"),
    case("{{first_seen_epoch}}", "1704067200000", "first_seen_epoch"),
    case("{{last_seen}}", "Mon Jan 01 00:03:00 UTC 2024", "last_seen"),
    case("{{last_seen_epoch}}", "1704067380000", "last_seen_epoch"),
    case("{{rule_name}}", "Brute force", "rule_name"),
    case("{{case_name}}", "high_volume", "case_name"),
    case("{{events_matched}}", "4", "events_matched"),
    case("{{events_matched_per_query.failures}}", "3", "events_matched_per_query"),
    case("{{events_matched_per_query.[success]}}", "1", "events_matched_per_query-bracket"),
    case("{{events_matched_per_query.nope}}", "", "events_matched_per_query-unknown-query"),
    case("{{nope}}", "", "unknown-plain-variable-empty"),
]

ATTRIBUTES = [
    case("{{@usr.id}}", "alice", "attribute"),
    case("{{ @usr.id }}", "alice", "whitespace-inside-mustache"),
    case("{{{@usr.id}}}", "alice", "triple-mustache"),
    case("{{&@usr.id}}", "alice", "ampersand-unescaped"),
    case("{{@network.client.ip}}", "10.2.3.4", "attributes-only"),
    case("{{@only_in_log}}", "from-log", "fallback-to-first-log"),
    case("{{@host.name}}", "web-1", "fallback-to-group-by"),
    case("{{@service}}", "auth-api", "fallback-to-tag-of-same-name"),
    case("{{@evt.name}}", "chmod", "merged-value-renders-first-sample"),
    case("{{@usr.roles}}", "dev, admin", "list-comma-separated"),
    case("{{@events.id}}", "1, 2", "path-through-list-of-objects"),
    case("{{@geo}}", '{"city":"Paris","lat":48.85}', "object-as-json"),
    case("{{@usr.flat}}", "flat-key", "flat-dotted-key"),
    case("{{@[usr.flat]}}", "flat-key", "bracketed-segment-is-one-key"),
    case("{{@[usr.id]}}", "", "bracketed-segment-not-nested"),
    case("{{@count}}", "3", "integral-float-as-integer"),
    case("{{@ratio}}", "0.25", "float"),
    case("{{@admin}}", "false", "boolean"),
    case("{{@zero}}", "0", "zero"),
    case("{{@note}}", "", "null-is-missing"),
    case("{{@missing.attr}}", "", "missing-attribute-empty"),
    case("{{@@usr.id}}", "", "double-at-is-another-key"),
    case("{{geo.city}}", "Paris", "attribute-without-at"),
    case("{{host}}", "web-1", "bare-name-from-group-by"),
]

TAGS = [
    case("{{env.name}}", "prod", "tag-name"),
    case("{{[dot.key.test].name}}", "five", "tag-bracket-dotted-key"),
    case("{{env}}", "prod", "bare-tag-key"),
    case("{{team.name}}", "sec", "first-of-several-values"),
    case("{{ENV.name}}", "prod", "key-case-insensitive"),
    case("{{pci.name}}", "", "tag-without-value"),
    case("{{region.name}}", "", "missing-tag-empty"),
    case("{{[@network.client.ip].name}}", "10.2.3.4", "bracket-attribute-facet"),
]

CONDITIONALS = [
    case('{{#is_match "@usr.id" "ali"}}yes{{/is_match}}', "yes", "is_match-true"),
    case('{{#is_match "@usr.id" "bob"}}yes{{/is_match}}', "", "is_match-false"),
    case('{{#is_match "@usr.id" "ALI"}}yes{{/is_match}}', "", "is_match-case-sensitive"),
    case('{{^is_match "@usr.id" "bob"}}yes{{/is_match}}', "yes", "not-is_match-true"),
    case('{{^is_match "@usr.id" "ali"}}yes{{/is_match}}', "", "not-is_match-false"),
    case('{{#is_match "@usr.id" "bob"}}b{{else}}o{{/is_match}}', "o", "is_match-else"),
    case('{{^is_match "@usr.id" "bob"}}n{{else}}m{{/is_match}}', "n", "not-is_match-else"),
    case('{{#is_match "@usr.id" "bob" "lic"}}yes{{/is_match}}', "yes", "is_match-any-string"),
    case('{{#is_match "@http.status_code" "40"}}4xx{{/is_match}}', "4xx", "is_match-number"),
    case('{{#is_match "@http.status_code" 40}}4xx{{/is_match}}', "4xx", "is_match-bare-number"),
    case('{{#is_match "@usr.id" ""}}set{{/is_match}}', "set", "is_match-empty-string-non-empty"),
    case('{{#is_match "@nope" ""}}set{{/is_match}}', "", "is_match-empty-string-missing"),
    case('{{#is_match "env.name" "pro"}}yes{{/is_match}}', "yes", "is_match-tag-variable"),
    case('{{#is_match "@usr.id" "@usr.id"}}yes{{/is_match}}', "", "is_match-quoted-is-literal"),
    case('{{#is_match "@usr.id" @usr.id}}yes{{/is_match}}', "yes", "is_match-bare-is-variable"),
    case("{{#is_match '@usr.id' 'ali'}}yes{{/is_match}}", "yes", "single-quotes"),
    case('{{#is_exact_match "@usr.id" "alice"}}yes{{/is_exact_match}}', "yes", "exact-true"),
    case('{{#is_exact_match "@usr.id" "ali"}}yes{{/is_exact_match}}', "", "exact-false"),
    case('{{^is_exact_match "@usr.id" "ali"}}yes{{/is_exact_match}}', "yes", "not-exact-true"),
    case('{{^is_exact_match "@usr.id" "alice"}}yes{{/is_exact_match}}', "", "not-exact-false"),
    case(
        '{{^is_exact_match "@usr.id" "alice"}}other{{else}}alice{{/is_exact_match}}',
        "alice",
        "not-exact-else",
    ),
    case('{{#is_exact_match "@usr.id" "x" "alice"}}y{{/is_exact_match}}', "y", "exact-any-string"),
    case('{{#is_exact_match "@http.status_code" "404.0"}}y{{/is_exact_match}}', "y", "exact-num"),
    case('{{#is_exact_match "@http.bytes" 2048}}y{{/is_exact_match}}', "y", "exact-numeric-text"),
    case('{{#is_exact_match "@usr.roles" "admin"}}y{{/is_exact_match}}', "y", "exact-list-any"),
    case('{{#is_exact_match "@nope" ""}}y{{/is_exact_match}}', "y", "exact-missing-is-empty"),
    case("{{#if @usr.id}}yes{{/if}}", "yes", "if-present"),
    case("{{#if @nope}}yes{{else}}no{{/if}}", "no", "if-missing-else"),
    case("{{#if @empty}}yes{{else}}no{{/if}}", "no", "if-empty-string"),
    case("{{#if @admin}}yes{{else}}no{{/if}}", "no", "if-false"),
    case("{{#if @zero}}yes{{else}}no{{/if}}", "no", "if-zero"),
    case("{{#if @usr.roles}}yes{{/if}}", "yes", "if-list"),
    case('{{#if "@usr.id"}}yes{{/if}}', "yes", "if-quoted-variable"),
    case("{{#if env.name}}yes{{/if}}", "yes", "if-tag-variable"),
    case("{{^if @usr.id}}yes{{else}}no{{/if}}", "no", "inverted-if"),
    case("{{#if @nope}}yes{{^}}no{{/if}}", "no", "caret-else"),
    case("{{#unless @nope}}yes{{/unless}}", "yes", "unless"),
    case(
        '{{#if @usr.id}}[{{#is_match "env.name" "prod"}}P{{else}}O{{/is_match}}]{{/if}}',
        "[P]",
        "nested-blocks",
    ),
    case("{{#if @usr.id}}{{#if @nope}}a{{else}}b{{/if}}c{{/if}}", "bc", "nested-same-helper"),
    case(
        '{{#if @nope}}{{#is_match "@usr.id" "a"}}x{{/is_match}}{{else}}e{{/if}}',
        "e",
        "nested-in-skipped-branch",
    ),
    case(
        '{{{{is_match "@usr.id" "ali"}}}}{{ .matched }}{{{{/is_match}}}}',
        "{{ .matched }}",
        "raw-block-conditional-true",
    ),
    case(
        '{{{{is_match "@usr.id" "bob"}}}}{{ .matched }}{{{{/is_match}}}}',
        "",
        "raw-block-conditional-false",
    ),
]

WHITESPACE = [
    case("a\n{{#if @usr.id}}\nb\n{{/if}}\nc", "a\nb\nc", "standalone-block-lines-removed"),
    case(
        '{{#is_match "env.name" "dev"}}\n  dev\n{{else}}\n  prod\n{{/is_match}}\n',
        "  prod\n",
        "standalone-else",
    ),
    case("a {{#if @usr.id}} b {{/if}} c", "a  b  c", "inline-block-keeps-spaces"),
    case("a  {{~@usr.id~}}  b", "aaliceb", "tilde-strips"),
    case("a{{! note }}b{{!-- has }} inside --}}c", "abc", "comments"),
    case("x\n{{! a comment line }}\ny", "x\ny", "standalone-comment"),
]

HELPERS = [
    case('{{eval "first_seen_epoch-15*60*1000"}}', "1704066300000", "eval-docs-example"),
    case('{{eval "1+2*3"}}', "7", "eval-precedence-mul"),
    case('{{eval "(1+2)*3"}}', "9", "eval-parentheses"),
    case('{{eval "2^3^2"}}', "512", "eval-power-right-assoc"),
    case('{{eval "2**10"}}', "1024", "eval-double-star"),
    case('{{eval "-2^2"}}', "-4", "eval-power-over-unary-minus"),
    case('{{eval "(-2)^2"}}', "4", "eval-unary-minus"),
    case('{{eval "2*-3"}}', "-6", "eval-unary-after-operator"),
    case('{{eval "10-4-3"}}', "3", "eval-left-assoc"),
    case('{{eval "7/2"}}', "3.5", "eval-true-division"),
    case('{{eval "-7 % 3"}}', "2", "eval-modulo"),
    case('{{eval "2^-1"}}', "0.5", "eval-negative-exponent"),
    case('{{eval "events_matched * 2 + events_matched_per_query.failures"}}', "11", "eval-vars"),
    case('{{eval "@http.bytes / 1024"}}', "2.0", "eval-numeric-text-attribute"),
    case('{{eval "abs(-3)"}}', "3", "eval-abs"),
    case('{{eval "ceil(1.2)"}}', "2", "eval-ceil"),
    case('{{eval "floor(-1.2)"}}', "-2", "eval-floor"),
    case('{{eval "round(2.5)"}}', "3", "eval-round-half-away"),
    case('{{eval "round(-2.5)"}}', "-3", "eval-round-negative"),
    case('{{eval "round(3.14159, 2)"}}', "3.14", "eval-round-digits"),
    case('{{eval "int(7.9)"}}', "7", "eval-int"),
    case('{{eval "trunc(-7.9)"}}', "-7", "eval-trunc"),
    case('{{eval "float(2)"}}', "2.0", "eval-float"),
    case('{{eval "dec(12.345)"}}', "0.345", "eval-dec"),
    case('{{eval "sgn(-5)"}}', "-1", "eval-sgn"),
    case('{{eval "min(3, 1, 2) + max(3, 1, 2)"}}', "4", "eval-min-max"),
    case('{{eval "log10(1000)"}}', "3.0", "eval-log10"),
    case('{{eval "@nope + 1"}}', "", "eval-missing-variable-empty"),
    case('{{eval "@word + 1"}}', "", "eval-non-numeric-empty"),
    case('{{eval "1/0"}}', "", "eval-division-by-zero-empty"),
    case('{{eval "log10(0)"}}', "", "eval-domain-error-empty"),
    case('{{eval "10^400"}}', "", "eval-overflow-empty"),
    case('{{local_time "timestamp" "Europe/Paris"}}', "2024-01-01 01:02:00+01:00", "local-paris"),
    case('{{local_time "@login.iso" "Europe/Paris"}}', "2024-07-01 14:00:00+02:00", "local-dst"),
    case("{{local_time 'last_seen' 'Asia/Tokyo'}}", "2024-01-01 09:03:00+09:00", "local-tokyo"),
    case('{{local_time "first_seen_epoch" "UTC"}}', "2024-01-01 00:00:00+00:00", "local-utc"),
    case(
        '{{local_time "@login.epoch_s" "America/New_York"}}',
        "2024-07-01 08:00:00-04:00",
        "local-time-epoch-seconds-attribute",
    ),
    case('{{local_time "@nope" "Europe/Paris"}}', "", "local-time-missing"),
    case('{{local_time "@login.bad" "Europe/Paris"}}', "", "local-time-not-a-date"),
    case('{{urlencode "@http.url"}}', "%2Fa%20b%3Fc%3Dd%26e", "urlencode"),
    case('{{urlencode "env.name"}}', "prod", "urlencode-tag"),
    case('{{urlencode "@nope"}}', "", "urlencode-missing"),
    case("{{{{raw}}}}{{ x }} {{#if}}{{{{/raw}}}}", "{{ x }} {{#if}}", "raw-block"),
    case(
        "{{{{raw}}}}\n{{ <TEXT_1> }} {{ <TEXT_2> }}\n{{{{/raw}}}}\n",
        "{{ <TEXT_1> }} {{ <TEXT_2> }}\n",
        "raw-block-docs-example",
    ),
]

PASSTHROUGH = [
    case("## Goal\nDetect `x`.\n\n* a\n* b", "## Goal\nDetect `x`.\n\n* a\n* b", "markdown"),
    case("{a} }} {b}} %%% \\{ }", "{a} }} {b}} %%% \\{ }", "braces-that-are-not-tags"),
    case("[link](https://x/?u={{@usr.id}})", "[link](https://x/?u=alice)", "inside-link"),
    case("", "", "empty-template"),
]


@pytest.mark.parametrize(
    ("template", "expected"),
    VARIABLES + ATTRIBUTES + TAGS + CONDITIONALS + WHITESPACE + HELPERS + PASSTHROUGH,
)
def test_render(template: str, expected: str) -> None:
    assert render(template) == expected


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("info", "0"), ("low", "1"), ("medium", "2"), ("high", "3"), ("critical", "4")],
)
def test_severity_renders_as_integer(severity: str, expected: str) -> None:
    assert render("{{severity}}", severity=severity) == expected


@pytest.mark.parametrize(
    ("epoch_ms", "expected"),
    [
        pytest.param(0, "Thu Jan 01 00:00:00 UTC 1970", id="epoch"),
        pytest.param(T + 999, "Mon Jan 01 00:00:00 UTC 2024", id="milliseconds-dropped"),
        pytest.param(1_709_251_199_000, "Thu Feb 29 23:59:59 UTC 2024", id="leap-day"),
    ],
)
def test_human_time(epoch_ms: int, expected: str) -> None:
    assert human_time(epoch_ms) == expected


@pytest.mark.parametrize(
    ("epoch_ms", "expected"),
    [
        pytest.param(1_710_053_999_000, "2024-03-10 01:59:59-05:00", id="before-spring-forward"),
        pytest.param(1_710_054_000_000, "2024-03-10 03:00:00-04:00", id="after-spring-forward"),
        pytest.param(1_730_613_600_000, "2024-11-03 01:00:00-05:00", id="after-fall-back"),
    ],
)
def test_local_time_across_dst(epoch_ms: int, expected: str) -> None:
    template = '{{local_time "timestamp" "America/New_York"}}'
    assert render(template, timestamp_ms=epoch_ms) == expected


ERRORS = [
    pytest.param("x\n  {{#if @a}}y", 2, 3, "block '{{#if}}' is never closed", id="unclosed-block"),
    pytest.param("ok {{/if}}", 1, 4, "'{{/if}}' has no opening tag", id="stray-closing-tag"),
    pytest.param(
        "{{#if @a}}\n{{/is_match}}",
        2,
        1,
        "'{{/is_match}}' does not match '{{#if}}' opened at line 1, column 1",
        id="mismatched-closing-tag",
    ),
    pytest.param("{{#each @a}}{{/each}}", 1, 1, "unknown block helper 'each'", id="unknown-block"),
    pytest.param('a {{humanize "@a"}}', 1, 3, "unknown helper 'humanize'", id="unknown-helper"),
    pytest.param('{{is_match "@a" "b"}}', 1, 1, "is a block helper", id="block-helper-inline"),
    pytest.param('{{#eval "1"}}{{/eval}}', 1, 1, "is an inline helper", id="inline-as-block"),
    pytest.param("a\n{{else}}", 2, 1, "'{{else}}' outside of a block", id="else-outside-block"),
    pytest.param(
        "{{#if @a}}{{else}}{{else}}{{/if}}", 1, 19, "at most one '{{else}}'", id="two-elses"
    ),
    pytest.param("{{#if @a}}{{else if @b}}{{/if}}", 1, 11, "takes no arguments", id="else-if"),
    pytest.param('{{#is_match "@a"}}{{/is_match}}', 1, 1, "at least one string", id="one-arg"),
    pytest.param("{{#if @a @b}}{{/if}}", 1, 1, "exactly one variable", id="if-two-args"),
    pytest.param('{{eval "1 +"}}', 1, 1, "expression ends too early", id="eval-dangling-op"),
    pytest.param('{{eval "(1"}}', 1, 1, "expected ')'", id="eval-unbalanced-paren"),
    pytest.param('{{eval "1 2"}}', 1, 1, "unexpected '2'", id="eval-missing-operator"),
    pytest.param('{{eval "2 $ 3"}}', 1, 1, "unexpected character '$'", id="eval-bad-character"),
    pytest.param('{{eval "foo(1)"}}', 1, 1, "unknown function 'foo'", id="eval-unknown-func"),
    pytest.param('{{eval "abs(1, 2)"}}', 1, 1, "abs() takes 1 argument(s)", id="eval-arity"),
    pytest.param(
        '{{eval "humanize_bytes(1)"}}', 1, 1, "unknown function", id="eval-humanize-unsupported"
    ),
    pytest.param('{{eval ""}}', 1, 1, "empty expression", id="eval-empty"),
    pytest.param("{{eval}}", 1, 1, "'eval' takes 1 argument, got 0", id="eval-no-argument"),
    pytest.param(
        '{{local_time "timestamp" "Mars/Olympus"}}',
        1,
        1,
        "unknown time zone 'Mars/Olympus'",
        id="bad-time-zone",
    ),
    pytest.param('{{local_time "timestamp"}}', 1, 1, "takes 2 arguments", id="local-time-arity"),
    pytest.param("text {{ oops", 1, 6, "'{{' is never closed", id="unclosed-mustache"),
    pytest.param(
        '{{#is_match "@a" "x}}{{/is_match}}', 1, 1, "unterminated string", id="bad-string"
    ),
    pytest.param("{{{{raw}}}}abc", 1, 1, "raw block '{{{{raw}}}}' is never closed", id="raw-open"),
    pytest.param("{{{{/raw}}}}", 1, 1, "closes no raw block", id="raw-stray-close"),
    pytest.param("{{a{b}}", 1, 1, "invalid variable name", id="invalid-variable-name"),
    pytest.param("{{ }}", 1, 1, "empty tag", id="empty-tag"),
    pytest.param("{{> partial}}", 1, 1, "partials", id="partial"),
    pytest.param("{{#if (eq @a 1)}}{{/if}}", 1, 1, "sub-expressions", id="sub-expression"),
    pytest.param(
        "## Goal\n\n1. `{{@usr.id}}` did {{#if @a}}x", 3, 22, "never closed", id="deep-position"
    ),
]


@pytest.mark.parametrize(("template", "line", "column", "reason"), ERRORS)
def test_template_errors(template: str, line: int, column: int, reason: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(template)
    error = caught.value
    assert (error.rule, error.line, error.column) == ("Brute force", line, column)
    assert reason in error.reason
    assert str(error).startswith(f"message template of rule 'Brute force', line {line}, ")


def test_error_message_names_rule_position_and_reason() -> None:
    with pytest.raises(TemplateError) as caught:
        check_template("Hello\n  {{#if @a}}", "My rule")
    assert str(caught.value) == (
        "message template of rule 'My rule', line 2, column 3: "
        "block '{{#if}}' is never closed (expected '{{/if}}')"
    )


def test_check_template_accepts_valid_templates() -> None:
    check_template('{{#if @a}}{{eval "1+1"}}{{/if}} {{@b}}', "rule")


def test_wrap_message() -> None:
    assert wrap_message("## Goal\nx") == "%%%\n## Goal\nx\n%%%"


def test_each_distinct_template_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def counting(template: str) -> Any:
        calls.append(template)
        return parse_template(template)

    monkeypatch.setattr(template_module, "parse_template", counting)
    template_module._parse_cached.cache_clear()
    unique = "{{@usr.id}} parsed once 8d3f"
    for _ in range(3):
        assert render(unique) == "alice parsed once 8d3f"
    check_template(unique, "other rule")
    assert calls == [unique]


_PIECES = [
    "{{",
    "}}",
    "{{{",
    "}}}",
    "{{{{",
    "}}}}",
    "#",
    "^",
    "/",
    "~",
    "!",
    "else",
    "if",
    "is_match",
]
_PIECES += ["raw", "eval", "local_time", "urlencode", '"', "'", " ", "\n", "@usr.id", "[", "]"]
_PIECES += ["(", ")", "1", "+", "*", '"UTC"', '"1+2"', "x", "&", ">", "\\", "."]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=16).map("".join))
def test_any_text_renders_or_raises_template_error(template: str) -> None:
    try:
        rendered = render(template)
    except TemplateError as error:
        assert error.line >= 1 and error.column >= 1
    else:
        assert isinstance(rendered, str)


# -- the real rule corpus --------------------------------------------------------------------

OOTB_SAMPLE = (
    Path(__file__).resolve().parent.parent
    / "fixtures"
    / "ootb-rules"
    / "default_log_detection_rules.json"
)


def _rules_of(corpus: Path) -> list[dict[str, Any]]:
    """The corpus's 83 OOTB rules and 11 partner rules."""
    rules_dir = corpus / "datadog-rules"
    ootb = rules_dir / "ootb-default-rules" / "default_log_detection_rules.json"
    rules: list[dict[str, Any]] = json.loads(ootb.read_text())
    partner_files = sorted(rules_dir.glob("partner-rules-integrations-extras/*/*.json"))
    return rules + [json.loads(path.read_text()) for path in partner_files]


def _rule_params(corpus: Path) -> list[Any]:
    return [
        pytest.param(rule, id=f"{i:02d}-{rule['name'][:50]}")
        for i, rule in enumerate(_rules_of(corpus))
    ]


CLOUDTRAIL = dataclasses.replace(
    CONTEXT,
    attributes={
        "userIdentity": {"arn": "arn:aws:iam::123456789012:user/alice", "session_name": "alice"},
        "requestParameters": {"logGroupName": "/aws/audit"},
        "evt": {"name": "DeleteLogGroup"},
    },
    log={},
)


def test_corpus_holds_83_ootb_and_11_partner_rules(corpus: Path) -> None:
    assert len(_rules_of(corpus)) == 83 + 11


@pytest.mark.parametrize(
    "rule",
    [
        *[
            pytest.param(rule, id=f"sample-{rule['name'][:50]}")
            for rule in json.loads(OOTB_SAMPLE.read_text())
        ],
        *corpus_params(_rule_params),
    ],
)
def test_corpus_message_renders(rule: dict[str, Any]) -> None:
    check_template(rule["message"], rule["name"])
    rendered = render_message(
        rule["message"], dataclasses.replace(CLOUDTRAIL, rule_name=rule["name"])
    )
    assert "{{" not in rendered
    assert rendered.count("\n") == rule["message"].count("\n")


def test_corpus_message_fills_attributes_and_tags() -> None:
    sample = json.loads(OOTB_SAMPLE.read_text())
    rule = next(r for r in sample if r["name"] == "AWS CloudWatch log group deleted")
    rendered = render_message(rule["message"], CLOUDTRAIL)
    assert "`alice` should be making this API call to your `prod` environment" in rendered
    assert "log group name: `/aws/audit`" in rendered


LOG_VALUES = st.one_of(st.none(), st.integers(), st.text(max_size=3))
LOG_KEYS = st.sampled_from(["host", "source", "usr", "usr.id", "attributes", "tags", "id"])


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(LOG_KEYS, LOG_VALUES, max_size=5),
    st.dictionaries(LOG_KEYS, LOG_VALUES, max_size=5),
    LOG_KEYS,
)
def test_log_fields_read_as_the_merged_log(
    fields: dict[str, Any], attributes: dict[str, Any], key: str
) -> None:
    # the template's view of the first sample: the log's attributes over its other fields
    log = {**fields, "attributes": attributes}
    merged = {**{k: v for k, v in fields.items() if k != "attributes"}, **attributes}
    view = LogFields(log)
    assert dict(view) == merged and list(view) == list(merged) and len(view) == len(merged)
    assert (key in view) == (key in merged)
    assert view.get(key) == merged.get(key)
