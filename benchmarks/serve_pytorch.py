#!/usr/bin/env python3
"""The serving baseline a Python user would pick: FastAPI + uvicorn + PyTorch eager, one process, the image as the
request body (as TorchServe's predictions API takes it), the classic preprocessing (Resize(256), CenterCrop(224),
ToTensor, Normalize), softmax and the top-5 as JSON. No batching across requests: each runs the model on its own.

    /usr/bin/python3 benchmarks/serve_pytorch.py --model resnet50 --weights W.pth [--port 8081] [--threads N]
"""

import argparse
import io
import os

import torch
import torchvision
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from PIL import Image
from torchvision import transforms

PREPROCESS = transforms.Compose([
    transforms.Resize(256),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
])


def create_app(name, model):
    app = FastAPI()

    @app.post("/predictions/{model_name}")
    async def predict(model_name: str, request: Request):
        if model_name != name:
            return JSONResponse({"error": f"Model '{model_name}' is not served here"}, status_code=404)
        try:
            image = Image.open(io.BytesIO(await request.body())).convert("RGB")
        except Exception as e:  # noqa: BLE001 - any undecodable upload is the client's error
            return JSONResponse({"error": str(e)}, status_code=400)
        with torch.inference_mode():
            probabilities = torch.softmax(model(PREPROCESS(image).unsqueeze(0)), dim=1)[0]
        top = torch.topk(probabilities, 5)
        return {"model": name, "top": [{"index": int(i), "probability": float(p)} for p, i in zip(top.values, top.indices)]}

    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--weights", required=True)
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="torch.set_num_threads (default: the cores; Debian's PyTorch 1.13 starts with one on some machines)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = getattr(torchvision.models, args.model)()
    model.load_state_dict(torch.load(args.weights))
    model.eval()
    uvicorn.run(create_app(args.model, model), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
