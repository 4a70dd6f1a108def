"""/usr/bin/python3 -m fixture_generator OUT: writes every fixture into OUT.partial, then swaps it in whole, so a
failed run leaves the old set as it was and no file of an older generator survives into the new set."""

import json
import os
import shutil
import sys

import torch
import torchvision

from . import augmentation, cases, engine, hostile, images, jpeg, models, names, quantization, recipe, schedules, serialization, tensorboard, training, weights
from .common import write_json

STAGING = ".partial"


def generate(directory):
    directory = os.path.abspath(directory)
    staging, previous = directory + STAGING, directory + ".previous"
    for leftover in (staging, previous):
        shutil.rmtree(leftover, ignore_errors=True)
    os.makedirs(staging)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    models.architectures(staging)
    models.initial_weights(staging)
    models.forward_outputs(staging)
    models.feature_extraction(staging)
    serialization.serialization(staging, marker_directory=directory)
    training.training(staging)
    manifest = cases.manifest()
    manifest["preprocessing"] = images.preprocessing(staging)
    manifest["jpeg"] = jpeg.jpeg_corpus(staging)
    manifest["hostile"] = hostile.hostile_images(staging)
    images.classification(staging)
    images.fine_tuning_data(staging)
    images.image_folder(staging)
    manifest["train_transforms"] = images.train_transforms(staging)
    augmentation.augmentation(staging)
    weights.weights_registry(staging)
    weights.model_cards(staging)
    names.api_names(staging)
    schedules.schedules(staging)
    engine.training_engine(staging)
    recipe.recipe(staging)
    quantization.quantization(staging)
    tensorboard.tensorboard(staging)
    write_json(staging, "cases.json", manifest)
    # Written last: the build's stamp that the set is whole.
    write_json(staging, "versions.json", {"torch": torch.__version__, "torchvision": torchvision.__version__})
    if os.path.exists(directory):
        os.rename(directory, previous)
    os.rename(staging, directory)
    shutil.rmtree(previous, ignore_errors=True)
    print(f"wrote fixtures to {directory} (torch {torch.__version__}, torchvision {torchvision.__version__})")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 -m fixture_generator OUT")
    generate(sys.argv[1])
