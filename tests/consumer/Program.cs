// Classifies a sample photo with seeded weights through the packaged library, and checks its top-5 against
// PyTorch's (the fixture generator's classification.json): exit 0 when they agree.
using System.Text.Json;
using TorchVisionModels.Classification;

if (args.Length != 3)
{
    Console.Error.WriteLine("usage: Consumer WEIGHTS IMAGE CLASSIFICATION_JSON");
    return 2;
}
var (weights, image, expected) = (args[0], args[1], args[2]);
using var classifier = ImageClassifier.Load("resnet18", weights, new ClassifierOptions { Progress = false });
var ours = classifier.Classify([image]).Single();
if (ours.Error is not null)
{
    Console.Error.WriteLine($"consumer: {ours.Error}");
    return 1;
}
var theirs = JsonDocument.Parse(File.ReadAllText(expected)).RootElement.GetProperty(Path.GetFileName(image))
    .EnumerateArray().Select(p => p.GetProperty("index").GetInt64()).ToList();
var top = ours.Top!.Select(p => p.Index).ToList();
if (!top.SequenceEqual(theirs))
{
    Console.Error.WriteLine($"consumer: top-5 [{string.Join(", ", top)}], PyTorch's [{string.Join(", ", theirs)}]");
    return 1;
}
Console.WriteLine($"consumer: the package classifies {Path.GetFileName(image)} as PyTorch does ({ours.Top![0].Label}), backend {classifier.Backend?.Backend}");
return 0;
