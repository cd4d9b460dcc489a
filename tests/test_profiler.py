"""The Trainer's default profiler records nothing at no cost; a chosen one still profiles."""

import lightning as L
from lightning.pytorch.profilers import SimpleProfiler

from ganlab.profiler import NoProfiler


def test_no_profiler_enters_one_shared_context_and_records_nothing():
    profiler = NoProfiler()
    first, second = profiler.profile("[Callback]a.on_train_batch_end"), profiler.profile("b")
    assert first is second  # nothing allocated per hook call
    with first, second:  # nested, as Lightning's hooks are
        pass
    assert profiler.summary() == ""


class Captured(L.Callback):
    """Keeps the Trainer a run made, to look at after it."""

    trainer = None

    def setup(self, trainer, pl_module, stage):
        Captured.trainer = trainer


CAPTURE = "+callbacks.captured._target_=tests.test_profiler.Captured"


def test_ganlab_train_uses_it_when_no_profiler_is_chosen(run_train):
    summary, _ = run_train(CAPTURE, max_iters=1)
    assert summary["status"] == "completed"
    assert type(Captured.trainer.profiler) is NoProfiler


def test_a_chosen_profiler_reports_the_run(run_train):
    summary, _ = run_train(CAPTURE, "trainer.profiler=simple", max_iters=1, name="simple")
    assert summary["status"] == "completed"
    assert type(Captured.trainer.profiler) is SimpleProfiler
    profiler = "{_target_:lightning.pytorch.profilers.SimpleProfiler,filename:perf}"
    summary, out = run_train(f"trainer.profiler={profiler}", max_iters=2, name="to_file")
    assert summary["status"] == "completed"
    report = (out / "fit-perf.txt").read_text()
    assert "[Strategy]SingleDeviceStrategy.training_step" in report
    assert "[Callback]SampleGrid.on_train_batch_end" in report
