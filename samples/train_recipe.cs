#:project ../src/TorchVisionModels/TorchVisionModels.csproj
#:property UsesTorchBackend=true
#:property PublishAot=false

// torchvision's full training recipe (references/classification/train.py with the IMAGENET1K_V2 settings),
// written against the library: dotnet run samples/train_recipe.cs -- TRAIN VAL OUT [EPOCHS]
using TorchVisionModels;
using TorchVisionModels.Datasets;
using TorchVisionModels.Training;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

var (trainDir, valDir, output) = (args[0], args[1], args[2]);
var epochs = args.Length > 3 ? int.Parse(args[3]) : 10;
const int CropSize = 32, BatchSize = 32;

var train = new ImageFolder(trainDir);
var val = new ImageFolder(valDir);
// presets.ClassificationPresetTrain(auto_augment_policy="ta_wide", random_erase_prob=0.1); bilinear throughout.
var trainPreset = new ClassificationPresetTrain(CropSize) { auto_augment_policy = "ta_wide", random_erase_prob = 0.1 };
var evalPreset = new ImageClassification(crop_size: CropSize, resize_size: CropSize);
// --ra-sampler --ra-reps 4 needs 256 images or more: ra_reps: 4 on a dataset that large.
var trainLoader = new ImageFolderLoader(train, trainPreset.forward, BatchSize, shuffle: true, drop_last: true, num_workers: 2);
var valLoader = new ImageFolderLoader(val, (image, _) => evalPreset.forward(image), 64);

manual_seed(0);
using var model = torchvision.models.resnet18(num_classes: train.classes.Count);
var options = new TrainerOptions
{
    Epochs = epochs,
    // --lr 0.5 for 8 x 128 images a step, scaled to this batch (the linear scaling rule).
    LearningRate = 0.5 * BatchSize / 1024,
    Optimizer = OptimizerKind.Sgd,
    Nesterov = false,
    Momentum = 0.9,
    WeightDecay = 2e-5,
    NormWeightDecay = 0.0,
    LabelSmoothing = 0.1,
    MixupAlpha = 0.2,
    CutmixAlpha = 1.0,
    Schedule = ScheduleKind.Cosine,
    WarmupEpochs = Math.Min(5, epochs / 4),
    WarmupMethod = WarmupMethod.Linear,
    ModelEma = true,
    ModelEmaSteps = 32,
    ModelEmaDecay = 0.99998,
};
var card = ModelCard.For(model, "resnet18", train.classes, evalPreset, "random initialisation");

// The moving average lives in a second model of the same architecture.
using var trainer = new Trainer(model, options, CPU, emaModule: torchvision.models.resnet18(num_classes: train.classes.Count));
foreach (var epoch in trainer.Fit(trainLoader, valLoader, output, card))
    Console.WriteLine($"epoch {epoch.Epoch}: loss {epoch.TrainLoss:F4}, val top-1 {epoch.Validation!.Top1:F2}%, EMA top-1 {epoch.ValidationEma!.Top1:F2}%");
Console.WriteLine($"best top-1 {trainer.BestTop1:F2}%: {Path.Combine(output, "best.pt")}");
