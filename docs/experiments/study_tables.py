#!/usr/bin/env python3
"""Turns `ema study` results.csv files into the compact tables of docs/study.md:
    python3 docs/experiments/study_tables.py DIR/results.csv [SERIES ...]   (SERIES e.g. fp16, fp16+rownorm, i8)
One table per series: the uniform baselines, then per tau the mixed row with random's and oracle's error at the
same budget. Standard library only."""
import csv, sys


def f(x, spec):
    return '-' if x in ('', None) else format(float(x), spec)


rows = list(csv.DictReader(open(sys.argv[1])))
series = sys.argv[2:] or sorted({r['format'] + ('' if r['estimator'] == 'fused' else '+' + r['estimator']) for r in rows})
for s in series:
    fmt, _, est = s.partition('+')
    est = est or 'fused'
    sr = [r for r in rows if r['format'] == fmt and r['estimator'] == est]
    if not sr:
        continue
    print(f'**{s}**\n')
    print('| method | tau | recomputed MACs | cost | top-1 | agreement | mean rel. error | random, same budget | oracle, same budget |')
    print('|---|---|---|---|---|---|---|---|---|')
    for m in ('uniform_low', 'uniform_high'):
        for r in sr:
            if r['method'] == m:
                print(f"| {m} | - | {f(r['recompute_fraction'], '.1%')} | {f(r['cost'], '.3f')} | {f(r['top1'], '.1%')} | {f(r['agreement'], '.1%')} | {f(r['mean_rel_error'], '.2e')} | | |")
    for r in sr:
        if r['method'] != 'mixed':
            continue
        same = {x['method']: x for x in sr if x['tau'] == r['tau']}
        print(f"| mixed | {f(r['tau'], '.3g')} | {f(r['recompute_fraction'], '.1%')} | {f(r['cost'], '.3f')} | {f(r['top1'], '.1%')} | {f(r['agreement'], '.1%')} | "
              f"{f(r['mean_rel_error'], '.2e')} | {f(same['random']['mean_rel_error'], '.2e')} | {f(same['oracle']['mean_rel_error'], '.2e')} |")
    print()
