"""The ``--format`` Go-template evaluator: what Go's text/template and Docker's CLI print."""

from __future__ import annotations

import pytest

from lbdemo.containers.format import (
    Context,
    TemplateError,
    compile_format,
    format_items,
    go_json,
    go_value,
)

INSPECTED = {
    "Name": "/web",
    "State": {"Status": "running", "Running": True, "Pid": 42},
    "Config": {"Image": "lbdemo/catalog:1.0", "Labels": {"b": "2", "a": "1"}},
    "Mounts": [
        {"Type": "volume", "Name": "data", "Source": "/s/data", "Destination": "/data", "RW": True},
        {"Type": "bind", "Source": "/home/me/cfg", "Destination": "/etc/catalog", "RW": False},
    ],
    "HostConfig": {"Binds": None},
}


def render(template: str, dot: object = INSPECTED) -> str:
    return compile_format(template).render(dot)


def test_fields_and_paths() -> None:
    assert render("{{.Name}} {{.Config.Image}} {{.State.Pid}}") == "/web lbdemo/catalog:1.0 42"
    assert render("{{.State.Running}}") == "true"
    assert render("{{.}}", "plain") == "plain"


def test_values_print_as_gos_percent_v() -> None:
    assert render("{{.Config.Labels}}") == "map[a:1 b:2]"
    assert go_value(["a", "b"]) == "[a b]"
    assert render("{{.HostConfig.Binds}}") == "<no value>"
    assert go_value(1.5) == "1.5" and go_value(3.0) == "3"


def test_json_is_gos_compact_marshal_with_html_escapes() -> None:
    assert render("{{json .State}}") == '{"Status":"running","Running":true,"Pid":42}'
    assert go_json({"a": "<b>&"}) == '{"a":"\\u003cb\\u003e\\u0026"}'
    assert render("{{json .HostConfig.Binds}}") == "null"


def test_range_sets_dot_to_each_element() -> None:
    out = render("{{range .Mounts}}{{.Destination}}={{.RW}};{{end}}")
    assert out == "/data=true;/etc/catalog=false;"
    assert render("{{range .HostConfig.Binds}}x{{else}}none{{end}}") == "none"


def test_if_else_and_functions() -> None:
    assert render("{{if .State.Running}}up{{else}}down{{end}}") == "up"
    assert render('{{index .Config.Labels "a"}}') == "1"
    assert render('{{join .L ", "}}', {"L": ["a", "b"]}) == "a, b"
    assert render("{{upper .State.Status}} {{lower .Name}} {{len .Mounts}}") == "RUNNING /web 2"
    assert render('{{println "x"}}') == "x\n"


def test_trim_markers_and_comments() -> None:
    assert render("a  {{- .State.Pid -}}  b") == "a42b"
    assert render("{{/* a comment */}}x") == "x"


def test_escapes_become_tabs_and_newlines_as_docker_replaces_them() -> None:
    assert render(r"{{.Name}}\t{{.State.Pid}}\n") == "/web\t42\n"


def test_methods_take_arguments() -> None:
    ctx = Context({"Names": "web", "Label": lambda key: {"k": "v"}.get(key, "")}, "*T")
    assert render('{{.Names}} {{.Label "k"}}', ctx) == "web v"


def test_table_prefix_prints_a_header_and_aligns_columns_like_tabwriter() -> None:
    header = Context({"Name": "VOLUME NAME", "Driver": "DRIVER"}, "*H")
    items = [Context({"Name": n, "Driver": "local"}, "*V") for n in ("a", "a-much-longer-name")]
    out = format_items(r"table {{.Driver}}\t{{.Name}}", items, header)
    assert out.splitlines() == [
        "DRIVER    VOLUME NAME",
        "local     a",
        "local     a-much-longer-name",
    ]
    out = format_items(r"table {{.Name}}\t{{.Driver}}", items, header)
    assert out.splitlines()[0] == "VOLUME NAME          DRIVER"  # widest cell + 3


def test_without_table_each_item_is_one_line_and_no_header() -> None:
    items = [Context({"Name": n}, "*V") for n in ("a", "b")]
    assert format_items("{{.Name}}", items) == "a\nb"
    assert format_items("{{.Name}}", []) == ""


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{.Name | upper}}", "pipelines ('|') are not supported"),
        ("{{$x := .Name}}", "is not supported"),
        ("{{with .State}}x{{end}}", "is not supported"),
        ("{{nope .Name}}", 'function "nope" not defined'),
        ("{{range .Mounts}}", "unexpected EOF"),
        ("{{end}}", "unexpected {{end}}"),
        ("{{.Name", "unclosed action"),
        ("{{}}", "missing value for command"),
    ],
)
def test_what_is_not_supported_is_one_clear_line(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(template)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("template: :1: ")


def test_unknown_fields_are_errors_worded_as_go_words_them() -> None:
    with pytest.raises(TemplateError, match='map has no entry for key "Foo"'):
        render("{{.Foo}}")
    with pytest.raises(TemplateError, match=r"can't evaluate field Foo in type \*T"):
        render("{{.Foo}}", Context({}, "*T"))
    with pytest.raises(TemplateError, match="can't evaluate field X in type str"):
        render("{{.Name.X}}")


def test_no_python_is_evaluated() -> None:
    for hostile in ("{{__import__('os')}}", "{{.__class__}}", '{{index . "__class__"}}'):
        try:
            out = render(hostile)
        except TemplateError:
            continue
        assert "class" not in out or out == "<no value>"
