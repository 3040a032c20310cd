#!/usr/bin/env python3
"""Anchor for bench/storage.ts: N Optuna 3.1 worker processes on one RDB storage, trivial objective.

Usage: optuna_storage.py URL WORKERS TRIALS. Prints one JSON line: {"workers", "trials", "seconds",
"startup_seconds"}. Workers load the study, then wait at a barrier; "seconds" runs from the barrier to
the last worker's exit, as in bench/storage.ts.
Needs Debian's python3-optuna (and python3-psycopg2 for PostgreSQL); run with /usr/bin/python3.
"""
import json, sys, time
from multiprocessing import Barrier, Process
import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)

def work(url, n, barrier):
    study = optuna.load_study(study_name="bench", storage=url, sampler=optuna.samplers.RandomSampler())
    barrier.wait()
    study.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2, n_trials=n)

def main():
    url, workers, trials = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    optuna.create_study(study_name="bench", storage=url)
    share = [trials // workers + (1 if i < trials % workers else 0) for i in range(workers)]
    barrier = Barrier(workers + 1)
    procs = [Process(target=work, args=(url, n, barrier)) for n in share]
    t0 = time.perf_counter()
    for p in procs: p.start()
    barrier.wait()
    t1 = time.perf_counter()
    for p in procs: p.join()
    print(json.dumps({"workers": workers, "trials": trials, "seconds": time.perf_counter() - t1,
                      "startup_seconds": t1 - t0}), flush=True)

if __name__ == "__main__":
    main()
