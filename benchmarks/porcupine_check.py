"""Porcupine itself on lbdemo's exports: ``lbdemo export --format porcupine``, then Porcupine's
checker (Go), then lbdemo's verdict beside it, history by history.

    .venv/bin/python benchmarks/porcupine_check.py --porcupine PORCUPINE_CHECKOUT \\
        [--random N] [--random-kv N] [--seed S] [H.jsonl ...]

Needs Go (Debian's ``golang-go``) and a checkout of anishathalye/porcupine: the Go program this
script writes (to a temporary directory, with a ``go.mod`` whose ``replace`` points at the
checkout, so nothing is downloaded) decodes the export's ``"operations"`` and checks them with
``porcupine.CheckOperationsTimeout`` in a key-value model partitioned by key, the model of
Porcupine's own kv tests (every key starts as ``""``, ``get`` must return the value, ``put``
sets it), plus the export's ``"Unknown": true`` outputs, which any state accepts. The histories
are the files named (default: the committed ``results/interop/*-history.jsonl``) and, with
``--random N``, N random small histories with one to three keys, unknown and failed writes and
many concurrent operations (lbdemo's zone check decides those). ``--random-kv N`` writes N random
Porcupine kv histories of its own, with values put again and again, appends and unknown
outcomes, which lbdemo's general search (``lbdemo.checker.wgl``) decides. Prints one line per
named history and a tally; exits 1 if a verdict differs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from lbdemo.checker import check
from lbdemo.checker.wgl import decide
from lbdemo.history import History, HistoryHeader, Op, read_history
from lbdemo.interop.calls import Refused
from lbdemo.interop.porcupine import json_calls, write_json

ROOT = Path(__file__).resolve().parents[1]

GO_MAIN = r"""package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
)

type input struct {
	Op    string
	Key   string
	Value string
}

type output struct {
	Value   string
	Unknown bool
}

type operation struct {
	ClientId int
	Input    input
	Call     int64
	Output   output
	Return   int64
}

type document struct {
	Operations []operation `json:"operations"`
}

// One key's value; the history is partitioned by key (P-compositionality).
var kv = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(input).Key
			byKey[k] = append(byKey[k], op)
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() interface{} { return "" },
	Step: func(state, in, out interface{}) (bool, interface{}) {
		st, i, o := state.(string), in.(input), out.(output)
		switch i.Op {
		case "get":
			return o.Unknown || o.Value == st, st
		case "put":
			return true, i.Value
		case "append":
			return true, st + i.Value
		}
		return false, st
	},
}

func main() {
	for _, path := range os.Args[1:] {
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Println(path, "error", err)
			continue
		}
		var doc document
		if err := json.Unmarshal(data, &doc); err != nil {
			fmt.Println(path, "error", err)
			continue
		}
		ops := make([]porcupine.Operation, 0, len(doc.Operations))
		for _, op := range doc.Operations {
			ops = append(ops, porcupine.Operation{
				ClientId: op.ClientId, Input: op.Input, Call: op.Call,
				Output: op.Output, Return: op.Return,
			})
		}
		// the check alone is timed: not the reading and decoding above
		began := time.Now()
		result := porcupine.CheckOperationsTimeout(kv, ops, 60*time.Second)
		took := time.Since(began).Seconds()
		switch result {
		case porcupine.Ok:
			fmt.Println(path, "consistent", took)
		case porcupine.Illegal:
			fmt.Println(path, "inconsistent", took)
		default:
			fmt.Println(path, "unknown", took)
		}
	}
}
"""


def random_history(rng: random.Random) -> History:
    """A few clients on one to three keys, unique write ids, reads of any value written (or
    none), unknown and failed outcomes, small integer times so that operations overlap."""
    keys = [f"p{k}" for k in range(rng.randint(1, 3))]
    plans: list[tuple[str, int, float, float]] = []
    for c in range(rng.randint(2, 5)):
        t = float(rng.randint(0, 3))
        for i in range(rng.randint(1, 4)):
            end = t + rng.randint(0, 4)
            plans.append((f"u{c}", i, t, end))
            t = end + rng.randint(0, 2)
    written: dict[str, list[Op]] = {k: [] for k in keys}
    ops: list[Op] = []
    for client, i, inv, comp in sorted(plans, key=lambda p: p[2]):
        key = rng.choice(keys)
        if rng.random() < 0.5:
            wid = f"{client}-{i}"
            outcome = rng.choice(["ok", "ok", "ok", "unknown", "fail"])
            status = {"ok": 200, "unknown": None, "fail": 503}[outcome]
            op = Op(client, "write", key, wid, i, inv, comp, status, outcome, "r1")
            written[key].append(op)
        else:
            w = rng.choice([None, *written[key]]) if written[key] else None
            wid, price = (None, None) if w is None else (w.write_id, w.price)
            op = Op(client, "read", key, wid, price, inv, comp, 200, "ok", "r1")
        ops.append(op)
    return History([HistoryHeader(wall_anchor=0.0, mono_anchor=0.0)], ops)


def random_kv(rng: random.Random) -> str:
    """A Porcupine kv history in lbdemo's JSON: put, append and get of a few short values on
    one or two keys, some outcomes unknown (their Return after everything, as Porcupine wants)."""
    keys = ["a", "b"][: rng.randint(1, 2)]
    ops = []
    end = 0
    for c in range(rng.randint(2, 4)):
        t = rng.randint(0, 3)
        for _ in range(rng.randint(1, 4)):
            ret = t + rng.randint(0, 4)
            name = rng.choice(["get", "get", "put", "append"])
            inp: dict[str, object] = {"Op": name, "Key": rng.choice(keys)}
            out: dict[str, object] = {"Value": ""}
            if name == "get":
                out["Value"] = rng.choice(["", "x", "y", "xy", "yx", "xx"])
            else:
                inp["Value"] = rng.choice(["x", "y"])
            unknown = name != "get" and rng.random() < 0.15
            if unknown:
                out["Unknown"] = True
            ops.append(
                {
                    "ClientId": c,
                    "Input": inp,
                    "Call": t,
                    "Output": out,
                    "Return": -1 if unknown else ret,
                }
            )
            end = max(end, ret)
            if unknown:
                break  # a client whose operation never returned does nothing more
            t = ret + rng.randint(0, 2)
    # Most gets return what executing the operations in call order gives (often linearizable,
    # sometimes not, as calls and returns overlap); the others a value drawn at random.
    state = dict.fromkeys(keys, "")
    for op in sorted(ops, key=lambda o: o["Call"]):  # type: ignore[arg-type, return-value]
        inp, out = op["Input"], op["Output"]
        assert isinstance(inp, dict) and isinstance(out, dict)
        key = inp["Key"]
        if inp["Op"] == "put":
            state[key] = inp["Value"]
        elif inp["Op"] == "append":
            state[key] += inp["Value"]
        elif rng.random() < 0.7:
            out["Value"] = state[key]
        if op["Return"] == -1:
            op["Return"] = end + 1
    return json.dumps({"model": "kv", "operations": ops})


def lbdemo_verdict(path: Path) -> str:
    """lbdemo check's verdict on a foreign file: the zone check, else the general search."""
    found = json_calls(path)
    try:
        return check(found.history(), None).verdict
    except Refused:
        return decide(found).verdict


def porcupine_verdicts(
    checkout: Path, files: list[Path], work: Path
) -> dict[str, tuple[str, float]]:
    """Porcupine's verdict on each exported file, and the seconds its check alone took."""
    prog = work / "prog"
    prog.mkdir()
    (prog / "main.go").write_text(GO_MAIN)
    (prog / "go.mod").write_text(
        "module lbdemo/porcupinecheck\n\ngo 1.16\n\n"
        "require github.com/anishathalye/porcupine v0.0.0\n\n"
        f"replace github.com/anishathalye/porcupine => {checkout.resolve()}\n"
    )
    env = {
        **os.environ,
        "GOPROXY": "off",  # the replace above is the module: nothing is fetched
        "GOFLAGS": "-mod=mod",
        "GOCACHE": str(work / "gocache"),
        "GOPATH": str(work / "gopath"),
        "HOME": str(work),
    }
    subprocess.run(["go", "build", "-o", "check"], cwd=prog, env=env, check=True)
    out: dict[str, tuple[str, float]] = {}
    for start in range(0, len(files), 500):  # argv stays short
        chunk = [str(f) for f in files[start : start + 500]]
        done = subprocess.run(
            [str(prog / "check"), *chunk], cwd=prog, env=env, check=True, capture_output=True
        )
        for line in done.stdout.decode().splitlines():
            path, verdict, took = line.rsplit(" ", 2)
            out[path] = (verdict, float(took))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--porcupine", type=Path, required=True, help="a Porcupine checkout")
    parser.add_argument("--random", type=int, default=0, help="also N random histories")
    parser.add_argument("--random-kv", type=int, default=0, help="also N random kv histories")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("histories", nargs="*", type=Path)
    args = parser.parse_args()
    if shutil.which("go") is None:
        print("porcupine_check: needs Go (apt-get install golang-go)", file=sys.stderr)
        return 2
    named = args.histories or sorted((ROOT / "results" / "interop").glob("*-history.jsonl"))
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="lbdemo-porcupine-") as tmp:
        work = Path(tmp)
        lbdemo: dict[str, str] = {}
        labels: dict[str, str] = {}
        files = []
        cases = [(p.name, read_history([str(p)])) for p in named]
        cases += [(f"random-{n}", random_history(rng)) for n in range(args.random)]
        for label, history in cases:
            path = work / f"{label}.json"
            path.write_text(write_json(history))
            lbdemo[str(path)] = check(history, None).verdict
            labels[str(path)] = label
            files.append(path)
        for n in range(args.random_kv):
            path = work / f"random-kv-{n}.json"
            path.write_text(random_kv(rng))
            lbdemo[str(path)] = lbdemo_verdict(path)
            labels[str(path)] = f"random-kv-{n}"
            files.append(path)
        theirs = porcupine_verdicts(args.porcupine, files, work)
    differ = [p for p in lbdemo if theirs.get(p, ("", 0.0))[0] != lbdemo[p]]
    for p in lbdemo:
        if not labels[p].startswith("random-"):
            verdict, took = theirs.get(p, (None, 0.0))
            print(
                f"{labels[p]}: lbdemo {lbdemo[p]}, Porcupine {verdict}"
                f" (Porcupine's check alone: {took:.2f} s)"
            )
    tally = {v: sum(1 for p in lbdemo if lbdemo[p] == v) for v in ("consistent", "inconsistent")}
    print(
        f"{len(lbdemo)} histories ({len(named)} named, {args.random} random, {args.random_kv} "
        f"random kv; seed {args.seed}); "
        f"lbdemo: {tally['consistent']} consistent, {tally['inconsistent']} inconsistent; "
        f"Porcupine differs on {len(differ)}"
    )
    for p in differ[:5]:
        print(f"  differs: {labels[p]}: lbdemo {lbdemo[p]}, Porcupine {theirs.get(p)}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
