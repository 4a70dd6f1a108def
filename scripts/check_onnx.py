#!/usr/bin/env python3
"""Runs onnx.checker (full check, with shape inference) on an ONNX file written by the C# exporter; prints "ok"."""

import sys

import onnx

model = onnx.load(sys.argv[1])
onnx.checker.check_model(model, full_check=True)
print("ok")
