#!/usr/bin/env python3
"""How far a forecast of civilian harm can go on a backtest's own rows (issue 14).

Reads the rows `vigil backtest ... --tune-until D --out DIR --rows` wrote (DIR/rows.parquet,
with DIR/results.json for the tuning window) and prints, for the evaluation window:

1. Each ranking as judged (the forecast Vigil scored, the index, the references) and the
   Brier skill the *best possible calibration of that ranking* would reach — an isotonic
   regression fitted on the evaluation rows themselves, i.e. with hindsight. No model that
   orders the cells this way can have more skill on these rows.
2. The same bound for each single input (the best five).
3. Other models fitted only on the tuning window's rows (origins whose horizon ends by the
   window's last day) and judged on the evaluation rows: logistic regressions on the
   standardised inputs (capped at 4 SD and uncapped), a shallow monotone gradient-boosted
   ensemble, an isotonic map of the cell's own past harm, and the stored forecast with its
   level corrected each origin by the outcomes known by then.

Rows are a weighted sample (every cell followed by harm; the others sampled per stratum):
Brier scores and means are weighted sums over all cells. Average precision is computed per
origin on the weighted sample and averaged over origins with an event; it reads higher than
the backtest's (which ranks every cell) and compares only within this table.

    python3 benches/forecast/bounds.py DIR [--horizon 30] [--json FILE]

Needs numpy, scikit-learn and pyarrow (benches/forecast/requirements.txt).
"""

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

# Columns that are not the forecast's inputs.
NOT_INPUTS = {"origin", "cell", "window", "weight", "persistence", "history", "history_10km", "index"}
# Inputs of violence in or near the cell: the monotone constraints of the tree ensemble.
MONOTONE_PREFIXES = ("harm_", "clash_", "civilian_deaths", "recency")


def load(folder: Path, horizon: int):
    table = pq.read_table(folder / "rows.parquet")
    cols = table.column_names
    inputs = [
        c
        for c in cols
        if c not in NOT_INPUTS and not c.startswith(("events_", "deaths_", "forecast_"))
    ]
    origin = table.column("origin").cast("int32").to_numpy()
    rows = {
        "origin": origin,
        "window": np.array(table.column("window").to_pylist()),
        "weight": table.column("weight").to_numpy().astype(float),
        "y": (table.column(f"events_{horizon}d").to_numpy() > 0).astype(float),
        "history": table.column("history").to_numpy().astype(float),
        "history_10km": table.column("history_10km").to_numpy().astype(float),
        "persistence": table.column("persistence").to_numpy().astype(float),
        "index": table.column("index").to_numpy().astype(float),
        "forecast": np.array(
            [np.nan if v is None else v for v in table.column(f"forecast_{horizon}d").to_pylist()],
            dtype=float,
        ),
        "x": np.column_stack([table.column(c).to_numpy().astype(float) for c in inputs]),
    }
    return rows, inputs


def day_number(date: str) -> int:
    return int((np.datetime64(date) - np.datetime64("1970-01-01")).astype(int))


def brier_skill(p, y, w):
    base = (w * y).sum() / w.sum()
    reference = base * (1.0 - base)
    if reference <= 0:
        return None
    return 1.0 - (w * (p - y) ** 2).sum() / w.sum() / reference


def hindsight_bound(score, y, w):
    """Brier skill of the isotonic calibration of `score` fitted on these very rows."""
    p = IsotonicRegression(out_of_bounds="clip").fit(score, y, sample_weight=w).predict(score)
    return brier_skill(p, y, w)


def average_precision(score, y, w, origin):
    """Mean over origins with an event of the weighted average precision (ties as one)."""
    values = []
    for d in np.unique(origin):
        m = origin == d
        s, yy, ww = score[m], y[m] > 0, w[m]
        if not yy.any():
            continue
        o = np.argsort(-s, kind="stable")
        s, yy, ww = s[o], yy[o], ww[o]
        cw, ctp = np.cumsum(ww), np.cumsum(ww * yy)
        ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])
        at_end = ends[np.searchsorted(ends, np.arange(len(s)))]
        values.append((ctp[at_end] / cw[at_end])[yy].sum() / yy.sum())
    return float(np.mean(values)) if values else None


def top_recall(score, y, w, origin, share=0.05):
    """Share of the cell-origins followed by harm in the top `share` of cells (by weight)."""
    hits = total = 0.0
    for d in np.unique(origin):
        m = origin == d
        o = np.argsort(-score[m], kind="stable")
        cw = np.cumsum(w[m][o])
        top = cw <= share * cw[-1] + 1e-9
        hits += y[m][o][top].sum()
        total += y[m].sum()
    return hits / total if total else None


def level_corrected(rows, p, horizon, window_days=182, prior=5.0):
    """`p` scaled each origin by (observed + prior) / (predicted + prior) over the origins
    whose horizon ended by then, within `window_days` (outcomes known at the origin)."""
    origin, w, y = rows["origin"], rows["weight"], rows["y"]
    days = np.unique(origin)
    observed = np.array([(w * y)[origin == d].sum() for d in days])
    predicted = np.array([(w * np.nan_to_num(p))[origin == d].sum() for d in days])
    out = p.copy()
    for i, d in enumerate(days):
        known = (days <= d - horizon) & (days > d - horizon - window_days)
        k = (observed[known].sum() + prior) / (predicted[known].sum() + prior)
        sel = origin == d
        out[sel] = np.minimum(p[sel] * k, 1.0)
    return out


def stored_model(rows, inputs, calibration, cap=4.0):
    """The stored forecast's probability of every row (tuning rows included), from the
    calibration in results.json: ceiling × σ(intercept + Σ β · clamp((x − mean) / scale,
    ±cap)), cap = Vigil's `params::Z_CAP`."""
    eta = np.full(len(rows["weight"]), calibration["intercept"], dtype=float)
    for name, beta, mean, scale in zip(
        calibration["features"], calibration["coefficients"], calibration["means"], calibration["scales"]
    ):
        if beta != 0.0 and name in inputs:
            scale = scale if scale > 0 else 1.0
            eta += beta * np.clip((rows["x"][:, inputs.index(name)] - mean) / scale, -cap, cap)
    ceiling = calibration.get("ceiling") or 1.0
    return ceiling / (1.0 + np.exp(-eta))


def fmt(v, digits=3):
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path, help="the backtest's --out folder (with --rows)")
    ap.add_argument("--horizon", type=int, default=30)
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args()

    results = json.loads((args.folder / "results.json").read_text())
    tune_until = results.get("tune_until")
    if not tune_until:
        sys.exit("bounds.py: the backtest ran without --tune-until: nothing is out of sample")
    rows, inputs = load(args.folder, args.horizon)
    ev = rows["window"] == "evaluation"
    tr = (rows["window"] == "tuning") & (rows["origin"] + args.horizon <= day_number(tune_until))
    if not ev.any() or not tr.any():
        sys.exit("bounds.py: the rows lack a tuning or an evaluation window")
    y, w, origin = rows["y"][ev], rows["weight"][ev], rows["origin"][ev]
    print(
        f"{int(ev.sum()):,} evaluation rows ({int(y.sum()):,} followed by harm within "
        f"{args.horizon} days), {int(tr.sum()):,} tuning rows; weights sum to "
        f"{w.sum() / len(np.unique(origin)):,.0f} cells per origin\n"
    )
    out = {"rankings": {}, "inputs": {}, "fitted": {}}

    print("| ranking (evaluation window) | Brier skill | best calibration's Brier skill (hindsight) | AP (sample) | top-5 % recall |")
    print("|---|---:|---:|---:|---:|")
    for name in ["forecast", "index", "history", "history_10km", "persistence"]:
        s = rows[name][ev]
        if np.isnan(s).all():
            continue
        s = np.nan_to_num(s)
        skill = brier_skill(s, y, w) if name == "forecast" else None
        bound = hindsight_bound(s, y, w)
        apv, top = average_precision(s, y, w, origin), top_recall(s, y, w, origin)
        out["rankings"][name] = {"brier_skill": skill, "bound": bound, "ap": apv, "top5": top}
        print(f"| {name} | {fmt(skill, 4)} | {fmt(bound, 4)} | {fmt(apv)} | {fmt(top)} |")

    bounds = sorted(
        ((hindsight_bound(rows["x"][ev][:, j], y, w), inputs[j]) for j in range(len(inputs))),
        key=lambda t: -(t[0] or -1),
    )
    print("\n| single input | best calibration's Brier skill (hindsight) |\n|---|---:|")
    for b, name in bounds[:5]:
        out["inputs"][name] = b
        print(f"| {name} | {fmt(b, 4)} |")

    X, Xe = rows["x"][tr], rows["x"][ev]
    yt, wt = rows["y"][tr], rows["weight"][tr]
    mean = (X * wt[:, None]).sum(0) / wt.sum()
    sd = np.sqrt((((X - mean) ** 2) * wt[:, None]).sum(0) / wt.sum())
    sd[sd == 0] = 1.0
    fitted = {}
    for cap in (4.0, None):
        z = lambda A: np.clip((A - mean) / sd, -cap, cap) if cap else (A - mean) / sd
        lr = LogisticRegression(C=0.1, max_iter=3000).fit(z(X), yt, sample_weight=wt / wt.mean())
        fitted[f"logistic, inputs capped at {cap:g} SD" if cap else "logistic, uncapped"] = lr.predict_proba(z(Xe))[:, 1]
    monotone = [1 if n.startswith(MONOTONE_PREFIXES) else 0 for n in inputs]
    gbm = HistGradientBoostingClassifier(
        max_leaf_nodes=4, max_iter=300, learning_rate=0.05, monotonic_cst=monotone,
        min_samples_leaf=50, l2_regularization=1.0, random_state=0,
    ).fit(X, yt, sample_weight=wt / wt.mean())
    fitted["gradient boosting, 4 leaves × 300, monotone"] = gbm.predict_proba(Xe)[:, 1]
    for name in ("harm_cell_365d", "harm_cell_1095d"):
        if name in inputs:
            j = inputs.index(name)
            iso = IsotonicRegression(out_of_bounds="clip").fit(X[:, j], yt, sample_weight=wt)
            fitted[f"isotonic map of {name}"] = iso.predict(Xe[:, j])
    calibration = next(
        (
            c.get("calibration")
            for c in results.get("calibrations", [])
            if c.get("horizon") == args.horizon and c.get("calibration")
        ),
        None,
    )
    if calibration is not None:
        everywhere = stored_model(rows, inputs, calibration)
        scored = ~np.isnan(rows["forecast"])
        gap = float(np.abs(everywhere[scored] - rows["forecast"][scored]).max()) if scored.any() else 0.0
        print(f"\n(the stored forecast recomputed from results.json: largest difference {gap:.1e})")
        out["recomputed_difference"] = gap
        fitted["stored forecast, level corrected by known outcomes"] = level_corrected(
            rows, everywhere, args.horizon
        )[ev]
        # Does the tuning window teach the cell's own past beyond the forecast? A logistic
        # stack of the forecast's log-odds and the cell's own counts, fitted there.
        own = [n for n in ("harm_cell_365d", "harm_cell_1095d", "clash_cell_365d") if n in inputs]
        q = np.clip(everywhere, 1e-9, 1 - 1e-9)
        stack = np.column_stack([np.log(q / (1 - q))] + [rows["x"][:, inputs.index(n)] for n in own])
        print("\n| stack on the tuning window, ridge C | forecast log-odds | " + " | ".join(own) + " |")
        print("|---:|---:|" + "---:|" * len(own))
        out["stack"] = {}
        for c in (0.01, 0.1, 1.0, 10.0):
            fit = LogisticRegression(C=c, max_iter=3000).fit(stack[tr], yt, sample_weight=wt / wt.mean())
            out["stack"][str(c)] = fit.coef_[0].tolist()
            print(f"| {c:g} | " + " | ".join(f"{b:.3f}" for b in fit.coef_[0]) + " |")
    years = (origin.astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970)
    print("\n| fitted on the tuning window | Brier skill | mean p / observed | AP (sample) | top-5 % recall | Brier skill by year |")
    print("|---|---:|---:|---:|---:|---|")
    for name, p in fitted.items():
        skill = brier_skill(p, y, w)
        ratio = (w * p).sum() / max((w * y).sum(), 1e-300)
        by_year = {
            int(Y): brier_skill(p[years == Y], y[years == Y], w[years == Y]) for Y in np.unique(years)
        }
        apv, top = average_precision(p, y, w, origin), top_recall(p, y, w, origin)
        out["fitted"][name] = {"brier_skill": skill, "ratio": ratio, "ap": apv, "top5": top, "by_year": by_year}
        years_text = ", ".join(f"{Y} {fmt(v, 3)}" for Y, v in by_year.items())
        print(f"| {name} | {fmt(skill, 4)} | {ratio:.2f} | {fmt(apv)} | {fmt(top)} | {years_text} |")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
