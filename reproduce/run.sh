#!/usr/bin/env bash
# Train one experiment of the README's "Reproduced results" table and measure it under the
# table's protocol: fid/kid_inception_10k of last.ckpt, 10,000 generated images against
# 10,000 real ones (the training digits; the 10,000 test digits for the few-shot mnist100_*).
# The VAEs (mnist_vae*; mnist_vae trains on binarised digits) are measured against the same
# grey-level training digits as the GANs (data=mnist), and mnist_vae's test NLL by the IWAE bound goes
# to reproduce/results/<experiment>.nll.json. The restorations (sr_*, inpaint_*) report PSNR,
# SSIM, fid/kid_inception_2k of the first 2,000 test digits restored, and the same for the
# degradation's classical baseline.
#
#   GANLAB_INCEPTION_WEIGHTS=/path/to/pt_inception-2015-12-05-fid.pth bash reproduce/run.sh mnist_dcgan_js
#
# Extra arguments are ganlab-train overrides (e.g. trainer=gpu). The run goes to
# reproduce/runs/<experiment>/ (not committed; rerunning continues it: resume=auto), the
# evaluation report to reproduce/results/<experiment>.json and the run's summary.json to
# reproduce/results/<experiment>.summary.json (both committed).
set -euo pipefail
exp=${1:?usage: bash reproduce/run.sh EXPERIMENT [overrides...]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${GANLAB_BIN:-$root/.venv/bin}
run=${GANLAB_REPRO_DIR:-$root/reproduce/runs}/$exp
results=$root/reproduce/results
split=train
n=10000
reference=()
case $exp in
  mnist100_*) split=test ;;
  mnist_vae*) reference=(data=mnist) ;;
  # Restoration: the first 2,000 test digits restored (and the baseline's) against clean.
  sr_*|inpaint_*) split=test n=2000 ;;
esac
mkdir -p "$run" "$results"
"$bin/ganlab-train" "experiment=$exp" "hydra.run.dir=$run" resume=auto logger=csv "$@"
cp "$run/summary.json" "$results/$exp.summary.json"
"$bin/ganlab-eval" "ckpt_path=$run/checkpoints/last.ckpt" "features=[inception]" \
  "metrics=[fid,kid]" "n=$n" "split=$split" "${reference[@]}" "report=$results/$exp.json"
if [ "$exp" = mnist_vae ]; then
  "$bin/ganlab-eval" "ckpt_path=$run/checkpoints/last.ckpt" "metrics=[nll]" \
    metrics.nll.k=1000 metrics.nll.n=1000 "report=$results/$exp.nll.json"
fi
