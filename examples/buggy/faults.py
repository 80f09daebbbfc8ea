#!/usr/bin/python3
"""faults.py: an implementation that breaks the protocol on purpose, for testing xentcheck's
fault handling. It answers correctly (plain Python, no NumPy: it starts fast) until a request
with at least --min-classes classes (default 8) arrives, then commits the fault chosen with
--fault:

  crash          dies of SIGSEGV                 hang        sleeps forever, answering nothing
  garbage        prints a line that is not JSON  partial     prints half a line, then exits 0
  wrong_id       answers with another id         missing     omits "grad"
  wrong_shape    loss as an array for mean/sum, or grad one row short for none
  ragged         a probs row one value short     bad_string  "oops" where a number is due
  nan            "nan" where a finite probability is due (a valid line, a wrong value)
  error          an error response               exit        exits with status 4
  extra_line     prints a debug line before its answer (one line too many)
  close_stdout   closes its stdout and keeps running
  slow           sleeps --delay seconds (default 0.3) before each answer (a timeout test)
  bare_tokens    correct, but writes non-finite values as bare NaN/Infinity (allowed)
  exit_at_start  exits with status 3 before reading anything (no trigger needed)
  no_read        never reads its stdin and never answers (no trigger needed)
"""
import argparse
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from protocol_io import encode, reference, requests, send, send_text  # noqa: E402

FAULTS = ["crash", "hang", "garbage", "partial", "wrong_id", "missing", "wrong_shape", "ragged",
          "bad_string", "nan", "error", "exit", "extra_line", "close_stdout", "slow",
          "bare_tokens", "exit_at_start", "no_read"]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fault", required=True, choices=FAULTS)
    parser.add_argument("--min-classes", type=int, default=8,
                        help="requests with at least this many classes trigger the fault")
    parser.add_argument("--delay", type=float, default=0.3, help="seconds, for --fault slow")
    args = parser.parse_args()
    if args.fault == "exit_at_start":
        sys.stderr.write("faults.py: exiting at start on purpose\n")
        sys.exit(3)
    if args.fault == "no_read":
        time.sleep(3600)
        return
    for req, raw in requests():
        if req is None:
            send({"id": None, "error": "not JSON"})
            continue
        probs, loss, grad = reference(req)
        response = {"id": req["id"], "probs": encode(probs), "loss": encode(loss),
                    "grad": encode(grad)}
        fault = args.fault
        if fault == "slow":
            time.sleep(args.delay)
        elif fault == "bare_tokens":
            send_text(json.dumps({"id": req["id"], "probs": probs, "loss": loss, "grad": grad})
                      + "\n")
            continue
        triggered = len(req["logits"][0]) >= args.min_classes
        if not triggered or fault in ("slow",):
            send(response)
            continue
        if fault == "crash":
            os.kill(os.getpid(), signal.SIGSEGV)
        elif fault == "hang":
            time.sleep(3600)
        elif fault == "garbage":
            send_text("this is not JSON\n")
        elif fault == "partial":
            send_text(json.dumps(response)[:25])
            sys.exit(0)
        elif fault == "wrong_id":
            response["id"] = req["id"] + 1000
            send(response)
        elif fault == "missing":
            del response["grad"]
            send(response)
        elif fault == "wrong_shape":
            if req["reduction"] == "none":
                response["grad"] = response["grad"][:-1]
            else:
                response["loss"] = [response["loss"]]
            send(response)
        elif fault == "ragged":
            response["probs"][-1] = response["probs"][-1][:-1]
            send(response)
        elif fault == "bad_string":
            response["probs"][0][0] = "oops"
            send(response)
        elif fault == "nan":
            response["probs"][0][0] = "nan"
            send(response)
        elif fault == "error":
            send({"id": req["id"], "error": "refusing on purpose"})
        elif fault == "exit":
            sys.exit(4)
        elif fault == "extra_line":
            send_text("debug: computing\n")
            send(response)
        elif fault == "close_stdout":
            sys.stdout.close()
            os.close(1)
            time.sleep(3600)


if __name__ == "__main__":
    main()
