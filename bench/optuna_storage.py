#!/usr/bin/env python3
"""Anchor for bench/storage.ts: N Optuna 3.1 worker processes on one RDB storage, trivial objective.

Usage: optuna_storage.py URL WORKERS TRIALS. Prints one JSON line: {"workers", "trials", "seconds"}.
Needs Debian's python3-optuna (and python3-psycopg2 for PostgreSQL); run with /usr/bin/python3.
"""
import json, sys, time
from multiprocessing import Process
import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)

def work(url, n):
    study = optuna.load_study(study_name="bench", storage=url, sampler=optuna.samplers.RandomSampler())
    study.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2, n_trials=n)

def main():
    url, workers, trials = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    optuna.create_study(study_name="bench", storage=url)
    share = [trials // workers + (1 if i < trials % workers else 0) for i in range(workers)]
    procs = [Process(target=work, args=(url, n)) for n in share]
    t0 = time.perf_counter()
    for p in procs: p.start()
    for p in procs: p.join()
    print(json.dumps({"workers": workers, "trials": trials, "seconds": time.perf_counter() - t0}), flush=True)

if __name__ == "__main__":
    main()
