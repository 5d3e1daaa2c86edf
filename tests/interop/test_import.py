"""What a Jepsen or Porcupine history becomes in lbdemo's model, and what is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lbdemo.checker import check
from lbdemo.checker.wgl import decide
from lbdemo.errors import UsageError
from lbdemo.interop.jepsen import edn_calls, log_calls, read_edn, read_log
from lbdemo.interop.porcupine import json_calls, read_json


def edn(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "h.edn"
    path.write_text(text, encoding="utf-8")
    return path


def verdict(path: Path, reader=read_edn) -> str:  # type: ignore[no-untyped-def]
    return str(check(reader(path), None).verdict)


def test_fail_is_not_applied_info_is_unknown_and_process_is_the_client(tmp_path: Path) -> None:
    h = read_edn(
        edn(
            tmp_path,
            """[{:type :invoke, :f :write, :value 1, :process 0, :time 1000000000}
                {:type :invoke, :f :write, :value 2, :process 1, :time 1100000000}
                {:type :fail, :f :write, :value 1, :process 0, :time 1200000000}
                {:type :info, :f :write, :value 2, :process 1, :time 1300000000}
                {:type :invoke, :f :read, :value nil, :process 2, :time 1400000000}
                {:type :ok, :f :read, :value 2, :process 2, :time 1500000000}]""",
        )
    )
    ops = {op.write_id: op for op in h.ops if op.op == "write"}
    assert ops["1"].outcome == "fail" and ops["2"].outcome == "unknown"
    read = next(op for op in h.ops if op.op == "read")
    assert (read.client, read.write_id, read.invoke, read.complete) == ("2", "2", 1.4, 1.5)
    assert ops["2"].complete == 1.3  # when the client gave up; the checker takes it as +inf
    assert str(check(h, None).verdict) == "consistent"  # the unknown write explains the read


def test_a_read_of_a_failed_write_is_not_linearizable(tmp_path: Path) -> None:
    path = edn(
        tmp_path,
        """[{:type :invoke, :f :write, :value 1, :process 0}
            {:type :fail, :f :write, :value 1, :process 0}
            {:type :invoke, :f :read, :value nil, :process 1}
            {:type :ok, :f :read, :value 1, :process 1}]""",
    )
    assert verdict(path) == "inconsistent"


def test_without_times_the_order_of_the_file_is_the_time(tmp_path: Path) -> None:
    # b's read begins after a's write of 1 completed, and returns the initial value: stale.
    path = edn(
        tmp_path,
        """({:type :invoke, :f :write, :value 1, :process :a}
            {:type :ok, :f :write, :value 1, :process :a}
            {:type :invoke, :f :read, :process :b}
            {:type :ok, :f :read, :value nil, :process :b})""",
    )
    assert verdict(path) == "inconsistent"
    h = read_edn(path)
    assert [(op.invoke, op.complete) for op in h.ops] == [(1.0, 2.0), (3.0, 4.0)]


def test_independent_tuples_are_keys(tmp_path: Path) -> None:
    path = edn(
        tmp_path,
        """[{:type :invoke, :f :write, :value [:x 1], :process 0}
            {:type :ok, :f :write, :value [:x 1], :process 0}
            {:type :invoke, :f :read, :value [:y nil], :process 1}
            {:type :ok, :f :read, :value [:y nil], :process 1}
            {:type :invoke, :f :read, :value [:x nil], :process 1}
            {:type :ok, :f :read, :value [:x 1], :process 1}]""",
    )
    h = read_edn(path)
    assert sorted(h.by_key()) == ["x", "y"]
    assert verdict(path) == "consistent"


@pytest.mark.parametrize(
    ("ops", "says"),
    [
        (
            "{:type :invoke, :f :cas, :value [1 2], :process 0} "
            "{:type :ok, :f :cas, :value [1 2], :process 0}",
            "a cas (compare-and-set) whose outcome is ok",
        ),
        (
            "{:type :invoke, :f :cas, :value [1 2], :process 0}",
            "a cas (compare-and-set) whose outcome is unknown",
        ),
        (
            "{:type :invoke, :f :write, :value 1, :process 0} "
            "{:type :ok, :f :write, :value 1, :process 0} "
            "{:type :invoke, :f :write, :value 1, :process 1} "
            "{:type :info, :f :write, :value 1, :process 1}",
            "value 1 is written on key register a second time",
        ),
        (
            "{:type :invoke, :f :write, :value nil, :process 0}",
            "writes the initial value (nil)",
        ),
        ("{:type :invoke, :f :add, :value 1, :process 0}", "add operations are not reads"),
        ("{:type :ok, :f :read, :value 1, :process 0}", "a completion with no invocation"),
        (
            "{:type :invoke, :f :read, :process 0} {:type :invoke, :f :read, :process 0}",
            "invoked an operation before its previous one completed",
        ),
    ],
)
def test_what_cannot_be_checked_soundly_is_refused_in_one_line(
    tmp_path: Path, ops: str, says: str
) -> None:
    with pytest.raises(UsageError) as caught:
        read_edn(edn(tmp_path, f"[{ops}]"))
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_a_failed_cas_changed_nothing_and_is_left_out(tmp_path: Path) -> None:
    path = edn(
        tmp_path,
        """[{:type :invoke, :f :cas, :value [1 2], :process 0}
            {:type :fail, :f :cas, :value [1 2], :process 0}
            {:type :invoke, :f :read, :process 1}
            {:type :ok, :f :read, :value nil, :process 1}]""",
    )
    assert [op.op for op in read_edn(path).ops] == ["read"]


def test_a_failed_write_may_share_its_value_with_one_that_happened(tmp_path: Path) -> None:
    path = edn(
        tmp_path,
        """[{:type :invoke, :f :write, :value 1, :process 0}
            {:type :fail, :f :write, :value 1, :process 0}
            {:type :invoke, :f :write, :value 1, :process 1}
            {:type :ok, :f :write, :value 1, :process 1}
            {:type :invoke, :f :read, :process 2}
            {:type :ok, :f :read, :value 1, :process 2}]""",
    )
    assert verdict(path) == "consistent"


def test_porcupine_kv_logs_start_every_key_as_the_empty_string(tmp_path: Path) -> None:
    path = edn(
        tmp_path,
        """{:process 0, :type :invoke, :f :get, :key "0", :value nil}
{:process 0, :type :ok, :f :get, :key "0", :value ""}
{:process 0, :type :invoke, :f :put, :key "0", :value "x 0 1 y"}
{:process 0, :type :ok, :f :put, :key "0", :value "x 0 1 y"}
{:process 1, :type :invoke, :f :get, :key "0", :value nil}
{:process 1, :type :ok, :f :get, :key "0", :value ""}
""",
    )
    # The second get began after the put completed and found nothing: stale.
    assert verdict(path) == "inconsistent"


LOG = """INFO  jepsen.util - 0\t:invoke\t:write\t1
INFO  jepsen.util - 1\t:invoke\t:read\tnil
INFO  jepsen.util - 0\t:ok\t:write\t1
INFO  jepsen.util - 1\t:ok\t:read\t1
INFO  jepsen.util - 2\t:invoke\t:write\t2
INFO  jepsen.util - 2\t:info\t:write\t:timed-out
INFO  jepsen.util - 3   :invoke :read   nil
INFO  jepsen.util - 3   :fail   :read   :timed-out
INFO  jepsen.util - 1\t:invoke\t:read\tnil
INFO  jepsen.util - 1\t:ok\t:read\t{READ}
"""


@pytest.mark.parametrize(("read", "expected"), [("2", "consistent"), ("nil", "inconsistent")])
def test_jepsen_logs_as_porcupine_ships_them(tmp_path: Path, read: str, expected: str) -> None:
    path = tmp_path / "etcd.log"
    path.write_text(LOG.replace("{READ}", read), encoding="utf-8")
    h = read_log(path)
    assert [op.outcome for op in h.ops if op.op == "write"] == ["ok", "unknown"]
    assert verdict(path, read_log) == expected


def test_a_failed_cas_ran_in_a_log_and_did_not_happen_in_edn(tmp_path: Path) -> None:
    """Porcupine reads an etcd log's ``:fail :cas`` as a compare that found another value;
    Knossos reads an EDN ``:fail`` as an operation that did not happen."""
    log = tmp_path / "etcd.log"
    log.write_text(
        "INFO  jepsen.util - 0\t:invoke\t:write\t0\n"
        "INFO  jepsen.util - 0\t:ok\t:write\t0\n"
        "INFO  jepsen.util - 1\t:invoke\t:cas\t[0 1]\n"
        "INFO  jepsen.util - 1\t:fail\t:cas\t[0 1]\n",
        encoding="utf-8",
    )
    assert decide(log_calls(log)).verdict == "inconsistent"  # the register held 0
    edn = tmp_path / "h.edn"
    edn.write_text(
        "[{:process 0, :type :invoke, :f :write, :value 0}"
        " {:process 0, :type :ok, :f :write, :value 0}"
        " {:process 1, :type :invoke, :f :cas, :value [0 1]}"
        " {:process 1, :type :fail, :f :cas, :value [0 1]}]",
        encoding="utf-8",
    )
    assert decide(edn_calls(edn)).verdict == "consistent"


def test_a_jepsen_log_with_another_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "etcd.log"
    path.write_text(LOG.replace("{READ}", "1") + "WARN something else\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"etcd.log:11: not a Jepsen log line"):
        read_log(path)


def porcupine(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "h.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_porcupine_register_model_as_its_readme_has_it(tmp_path: Path) -> None:
    # Porcupine's README: C0 put(200) spans everything; C1 reads 200, then C2 reads 0: illegal.
    ops = [
        {"ClientId": 0, "Input": {"Op": "put", "Value": 200}, "Call": 0, "Output": 0, "Return": 50},
        {"ClientId": 1, "Input": {"Op": "get"}, "Call": 5, "Output": 200, "Return": 10},
        {"ClientId": 2, "Input": {"Op": "get"}, "Call": 20, "Output": 0, "Return": 30},
    ]
    bad = porcupine(tmp_path, {"model": "register", "operations": ops})
    assert verdict(bad, read_json) == "inconsistent"
    ops[2]["Call"], ops[2]["Return"] = 2, 4  # C2's read before C1's: linearizable
    good = porcupine(tmp_path, {"model": "register", "operations": ops})
    assert verdict(good, read_json) == "consistent"


def test_porcupine_kv_model_with_an_unknown_put(tmp_path: Path) -> None:
    ops = [
        {"ClientId": 0, "Input": {"Op": "put", "Key": "k", "Value": "a"}, "Call": 0,
         "Output": {"Unknown": True}, "Return": 100},
        {"ClientId": 1, "Input": {"Op": "get", "Key": "k"}, "Call": 10,
         "Output": {"Value": "a"}, "Return": 20},
        {"ClientId": 1, "Input": {"Op": "get", "Key": "k"}, "Call": 30,
         "Output": {"Value": ""}, "Return": 40},
    ]  # fmt: skip
    h = read_json(porcupine(tmp_path, {"model": "kv", "operations": ops}))
    assert [op.outcome for op in h.ops] == ["unknown", "ok", "ok"]
    assert verdict(tmp_path / "h.json", read_json) == "inconsistent"  # "a" then "" again


def test_porcupine_kv_appends_go_to_the_general_search(tmp_path: Path) -> None:
    ops = [
        {"ClientId": 0, "Input": {"Op": "append", "Key": "k", "Value": "x"}, "Call": 0,
         "Output": {"Value": ""}, "Return": 10},
        {"ClientId": 1, "Input": {"Op": "append", "Key": "k", "Value": "y"}, "Call": 0,
         "Output": {"Unknown": True}, "Return": 100},
        {"ClientId": 2, "Input": {"Op": "get", "Key": "k"}, "Call": 20,
         "Output": {"Value": "yx"}, "Return": 30},
    ]  # fmt: skip
    found = json_calls(porcupine(tmp_path, {"model": "kv", "operations": ops}))
    assert [(c.f, c.value) for c in found.calls[:2]] == [("append", "x"), ("append", "y")]
    assert decide(found).verdict == "consistent"  # the unknown "y" came first
    ops[2]["Output"] = {"Value": "xyx"}
    assert decide(json_calls(porcupine(tmp_path, {"model": "kv", "operations": ops}))).verdict == (
        "inconsistent"
    )


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ([], 'expected {"model": "register" or "kv"'),
        ({"model": "kv", "operations": [{"Input": {"Op": "get", "Key": "k"}}]}, "Call must be"),
        ({"model": "kv", "operations": [{"Input": {"Op": "append", "Key": "k", "Value": "x"},
          "Call": 0, "Output": {}, "Return": 1}]}, "append operations are not reads"),
    ],
)  # fmt: skip
def test_porcupine_json_that_is_not_refused_in_one_line(
    tmp_path: Path, doc: object, says: str
) -> None:
    with pytest.raises(UsageError) as caught:
        read_json(porcupine(tmp_path, doc))
    assert says in str(caught.value) and "\n" not in str(caught.value)
