#:project ../src/TorchVisionModels/TorchVisionModels.csproj
#:property UsesTorchBackend=true
#:property PublishAot=false

// Feature extraction and a linear probe: a frozen backbone's pooled features, then a logistic regression on them.
// dotnet run samples/linear_probe.cs -- TRAIN VAL [WEIGHTS] [EPOCHS]
// WEIGHTS: a checkpoint, torchvision's weights by name, or mlnet-resnet18 (ImageNet features from NuGet); none for a
// random resnet18 on 32x32 crops.
using TorchVisionModels;
using TorchVisionModels.Datasets;
using TorchVisionModels.Training;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

var (trainDir, valDir) = (args[0], args[1]);
var weights = args.Length > 2 && args[2] != "-" ? args[2] : null;
var epochs = args.Length > 3 ? int.Parse(args[3]) : 100;

manual_seed(0);
// The network the weights describe, with the preprocessing they were trained with.
var architecture = FineTuning.ArchitectureFor(weights is null ? "resnet18" : null, weights);
using var backbone = FineTuning.Prepare(architecture, numClasses: 10, weights);
backbone.eval();
using var extractor = torchvision.models.feature_extraction.create_feature_extractor(backbone, ["flatten"]);
var preset = weights is null ? new ImageClassification(crop_size: 32, resize_size: 32) : FineTuning.EvaluationPreset(architecture, weights);

// Every image's 512 features, computed once: the backbone never changes.
(Tensor features, Tensor labels) Features(string directory)
{
    var loader = new ImageFolderLoader(new ImageFolder(directory), (image, _) => preset.forward(image), batch_size: 64);
    var (features, labels) = (new List<Tensor>(), new List<Tensor>());
    using (no_grad())
    {
        foreach (var (images, targets) in loader.Batches(0))
        {
            using (images)
            {
                var output = extractor.call(images);
                features.Add(output["flatten"]);
                labels.Add(targets);
            }
        }
    }
    return (cat(features), cat(labels));
}
var (trainX, trainY) = Features(trainDir);
var (valX, valY) = Features(valDir);

// Standardised features and a linear layer trained full-batch with cross-entropy: logistic regression.
var (mean, std) = (trainX.mean([0]), trainX.std([0]).add(1e-6));
using var probe = nn.Linear(trainX.shape[1], trainY.max().item<long>() + 1);
using var optimizer = optim.Adam(probe.parameters(), lr: 0.01);
for (var step = 0; step < epochs; step++)
{
    using var scope = NewDisposeScope();
    optimizer.zero_grad();
    var loss = nn.functional.cross_entropy(probe.call(trainX.sub(mean).div(std)), trainY);
    loss.backward();
    optimizer.step();
}
using (no_grad())
{
    var accuracy = probe.call(valX.sub(mean).div(std)).argmax(1).eq(valY).to(float32).mean().item<float>() * 100;
    Console.WriteLine($"linear probe on {trainX.shape[1]} frozen features: val top-1 {accuracy:F2}%");
}
