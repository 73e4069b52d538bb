import os, json, tempfile, random, sys
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
import ray
from ray import tune
from ray.tune.schedulers import PopulationBasedTraining
from ray.tune import Checkpoint

def fn(config):
    step = 0
    ck = tune.get_checkpoint()
    if ck:
        with ck.as_directory() as d:
            step = json.load(open(os.path.join(d, "s.json")))["step"]
    while step < 9:
        step += 1
        score = config["lr"] * step
        if step % 3 == 0:
            with tempfile.TemporaryDirectory() as d:
                json.dump({"step": step}, open(os.path.join(d, "s.json"), "w"))
                tune.report({"score": score, "step": step}, checkpoint=Checkpoint.from_directory(d))
        else:
            tune.report({"score": score, "step": step})
        import time; time.sleep(0.2)

ray.init(num_cpus=4, include_dashboard=False)
pbt = PopulationBasedTraining(time_attr="training_iteration", perturbation_interval=3, metric="score", mode="max",
                              hyperparam_mutations={"lr": [0.1, 0.2, 0.8, 1.6]}, quantile_fraction=0.5)
random.seed(7)
tuner = tune.Tuner(fn, param_space={"lr": tune.grid_search([0.1, 0.2, 0.8, 1.6])},
                   tune_config=tune.TuneConfig(scheduler=pbt, reuse_actors=False),
                   run_config=tune.RunConfig(name=sys.argv[2], storage_path=sys.argv[1], verbose=0,
                                             checkpoint_config=tune.CheckpointConfig(num_to_keep=None)))
tuner.fit()
