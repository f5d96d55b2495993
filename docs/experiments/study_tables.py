#!/usr/bin/env python3
"""Turns `ema study` results.csv files into the compact tables of docs/study.md and docs/study-authors.md:
    python3 docs/experiments/study_tables.py DIR/results.csv [SERIES ...]   (SERIES e.g. fp16, fp16+rownorm, i8, fp8-e4m3:fp16)
One table per series and criterion: the uniform baselines, then per tau the mixed row with random's and oracle's
error at the same budget and the ratio random/mixed. Reads the older files without ladder/criterion columns too.
Standard library only."""
import csv, sys


def f(x, spec):
    return '-' if x in ('', None) else format(float(x), spec)


def series(r):
    ladder = r.get('ladder') or r['format'] + ':fp32'
    name = r['format'] if ladder == r['format'] + ':fp32' else ladder
    return name + ('' if r['estimator'] == 'fused' else '+' + r['estimator'])


rows = [r for r in csv.DictReader(open(sys.argv[1])) if r.get('ladder') != 'fp32']
names = sys.argv[2:] or list(dict.fromkeys(series(r) for r in rows))
for s in names:
    sr = [r for r in rows if series(r) == s]
    if not sr:
        continue
    for crit in dict.fromkeys(r.get('criterion', '') for r in sr if r['method'] == 'mixed'):
        print(f"**{s}**{' — criterion ' + crit if crit else ''}\n")
        print('| method | tau | recomputed MACs | cost | top-1 | agreement | mean rel. error | random, same budget | oracle, same budget | random / mixed |')
        print('|---|---|---|---|---|---|---|---|---|---|')
        for m in ('uniform_low', 'uniform_high'):
            for r in sr:
                if r['method'] == m:
                    print(f"| {m} | - | {f(r['recompute_fraction'], '.1%')} | {f(r['cost'], '.3f')} | {f(r['top1'], '.1%')} | {f(r['agreement'], '.1%')} | {f(r['mean_rel_error'], '.2e')} | | | |")
        for r in sr:
            if r['method'] != 'mixed' or r.get('criterion', '') != crit:
                continue
            same = {x['method']: x for x in sr if x['tau'] == r['tau'] and x.get('criterion', '') == crit}
            rnd, mix = float(same['random']['mean_rel_error']), float(r['mean_rel_error'])
            ratio = f'{rnd / mix:.3g}x' if mix > 0 else '-'
            print(f"| mixed | {f(r['tau'], '.3g')} | {f(r['recompute_fraction'], '.1%')} | {f(r['cost'], '.3f')} | {f(r['top1'], '.1%')} | {f(r['agreement'], '.1%')} | "
                  f"{f(r['mean_rel_error'], '.2e')} | {f(same['random']['mean_rel_error'], '.2e')} | {f(same['oracle']['mean_rel_error'], '.2e')} | {ratio} |")
        print()
