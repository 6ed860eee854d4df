#!/usr/bin/env python3
"""An independent perplexity / KL-divergence computation in numpy (float64 statistics) for two
llama2.c legacy checkpoints, with llama.cpp's perplexity protocol. Used by the tests as a second
implementation of `llmq perplexity` and `llmq verify`; it shares no code with llmq.

    verify_numpy.py REFERENCE CANDIDATE TOKENS_CSV --ctx N --chunks K [--score-all]

TOKENS_CSV is the tokenized text (BOS first). Prints one JSON object of statistics.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama2c_numpy import Model  # noqa: E402


def log_softmax(logits):
    x = logits.astype(np.float64)
    m = x.max()
    return x - (m + np.log(np.exp(x - m).sum()))


def mean_and_error(values):
    v = np.asarray(values, dtype=np.float64)
    return float(v.mean()), float(np.sqrt(v.var() / (len(v) - 1)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("reference")
    ap.add_argument("candidate")
    ap.add_argument("tokens")
    ap.add_argument("--ctx", type=int, required=True)
    ap.add_argument("--chunks", type=int, required=True)
    ap.add_argument("--score-all", action="store_true")
    a = ap.parse_args()
    tokens = [int(t) for t in a.tokens.split(",")]
    ref, cand = Model(a.reference), Model(a.candidate)
    first = 0 if a.score_all else a.ctx // 2
    rows = []
    for c in range(a.chunks):
        chunk = tokens[c * a.ctx:(c + 1) * a.ctx]
        chunk[0] = 1  # BOS replaces each chunk's first token
        for pos in range(a.ctx - 1):
            lp = log_softmax(ref.forward(chunk[pos], pos))
            lq = log_softmax(cand.forward(chunk[pos], pos))
            if pos < first:
                continue
            target = chunk[pos + 1]
            p = np.exp(lp)
            rows.append(dict(
                nll_ref=-lp[target], nll_cand=-lq[target], kld=float((p * (lp - lq)).sum()),
                same_top=int(np.argmax(lp) == np.argmax(lq)),
                overlap=len(set(np.argsort(-lp, kind="stable")[:5]) & set(np.argsort(-lq, kind="stable")[:5])) / 5,
                p_ref=np.exp(lp[target]), p_cand=np.exp(lq[target])))
    col = {k: np.array([r[k] for r in rows], dtype=np.float64) for k in rows[0]}
    n = len(rows)
    ref_mean, ref_err = mean_and_error(col["nll_ref"])
    cand_mean, cand_err = mean_and_error(col["nll_cand"])
    cov = np.cov(col["nll_ref"], col["nll_cand"], bias=True)[0, 1] / (n - 1)
    ppl_ref, ppl_cand = np.exp(ref_mean), np.exp(cand_mean)
    ln_ratio = mean_and_error(col["nll_cand"] - col["nll_ref"])
    dp = col["p_cand"] - col["p_ref"]
    msq = mean_and_error(dp * dp)
    rms = np.sqrt(msq[0])
    same = col["same_top"].mean()
    out = dict(
        scored=n,
        ppl_ref=[ppl_ref, ppl_ref * ref_err],
        ppl_cand=[ppl_cand, ppl_cand * cand_err],
        ppl_delta=[ppl_cand - ppl_ref, float(np.sqrt(max(0.0, ppl_cand**2 * cand_err**2 + ppl_ref**2 * ref_err**2
                                                        - 2 * ppl_cand * ppl_ref * cov)))],
        ln_ratio=list(ln_ratio),
        nll_correlation=float(np.corrcoef(col["nll_ref"], col["nll_cand"])[0, 1]),
        kld_mean=list(mean_and_error(col["kld"])),
        kld_median=float(np.quantile(col["kld"], 0.5)),
        kld_p90=float(np.quantile(col["kld"], 0.9)),
        kld_p99=float(np.quantile(col["kld"], 0.99)),
        kld_max=float(col["kld"].max()),
        same_top=[100 * same, 100 * np.sqrt(same * (1 - same) / (n - 1))],
        top5=[100 * x for x in mean_and_error(col["overlap"])],
        dp_mean=[100 * x for x in mean_and_error(dp)],
        dp_rms=[100 * rms, 100 * (msq[1] / (2 * rms) if rms > 0 else 0.0)],
        p_correlation=float(np.corrcoef(col["p_ref"], col["p_cand"])[0, 1]),
    )
    print(json.dumps({k: (float(v) if isinstance(v, (np.floating, float)) else
                          [float(x) for x in v] if isinstance(v, list) else v) for k, v in out.items()}))


if __name__ == "__main__":
    main()
