#:project ../src/TorchVisionModels/TorchVisionModels.csproj
#:property UsesTorchBackend=true
#:property PublishAot=false

// A minimal fine-tune, the library's way: dotnet run samples/finetune.cs -- TRAIN VAL OUT [EPOCHS] [WEIGHTS]
// TRAIN and VAL are ImageFolder trees (a folder per class); WEIGHTS, a state dict to start from (random without).
using TorchVisionModels;
using TorchVisionModels.Datasets;
using TorchVisionModels.Serialization;
using TorchVisionModels.Training;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

var (trainDir, valDir, output) = (args[0], args[1], args[2]);
var epochs = args.Length > 3 ? int.Parse(args[3]) : 3;
var weights = args.Length > 4 ? args[4] : null;
const int CropSize = 32; // Fashion-MNIST's 28-pixel images; 224 for photos

var train = new ImageFolder(trainDir);
var val = new ImageFolder(valDir);
var evalPreset = new ImageClassification(crop_size: CropSize, resize_size: CropSize);
var trainLoader = new ImageFolderLoader(train, new ClassificationPresetTrain(CropSize).forward, batch_size: 32, shuffle: true, drop_last: true, num_workers: 2);
var valLoader = new ImageFolderLoader(val, (image, _) => evalPreset.forward(image), batch_size: 64);

manual_seed(0);
// From a checkpoint, every layer but the new head: load_state_dict(path, skip: ["fc"]).
using var model = torchvision.models.resnet18(num_classes: train.classes.Count);
if (weights is not null)
    model.load_state_dict(weights, skip: ["fc"]);
var card = ModelCard.For(model, "resnet18", train.classes, evalPreset, weights ?? "random initialisation");

using var trainer = new Trainer(model, new TrainerOptions { Epochs = epochs, LearningRate = 0.02, WarmupEpochs = 1, LabelSmoothing = 0.1 }, CPU);
foreach (var epoch in trainer.Fit(trainLoader, valLoader, output, card))
    Console.WriteLine($"epoch {epoch.Epoch}: loss {epoch.TrainLoss:F4}, val top-1 {epoch.Validation!.Top1:F2}%");
Console.WriteLine($"best top-1 {trainer.BestTop1:F2}%: {Path.Combine(output, "best.pt")}");
