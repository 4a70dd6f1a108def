#:project ../src/TorchVisionModels/TorchVisionModels.csproj
#:property UsesTorchBackend=true
#:property PublishAot=false

// Whether heavy augmentation starves training: ImageFolderLoader's images per second with the plain training preset
// and with train.py's recipe (TrivialAugmentWide, random erasing, then mixup or cutmix on each batch), beside the
// training step's (bench --train). Prints one JSON line per preset.
//   dotnet run benchmarks/loader_throughput.cs -- DIR CROP [WORKERS] [BATCH] [BATCHES]
using System.Diagnostics;
using System.Text.Json;
using TorchVisionModels.Datasets;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

var (root, crop) = (args[0], int.Parse(args[1]));
var workers = args.Length > 2 ? int.Parse(args[2]) : 2;
var batch = args.Length > 3 ? int.Parse(args[3]) : 64;
var batches = args.Length > 4 ? int.Parse(args[4]) : 20;
var dataset = new ImageFolder(root);
var mixing = new BatchMixing(dataset.classes.Count, 0.2, 1.0);
var presets = new (string name, ClassificationPresetTrain preset, bool mix)[]
{
    ("plain", new ClassificationPresetTrain(crop), false),
    ("recipe", new ClassificationPresetTrain(crop) { auto_augment_policy = "ta_wide", random_erase_prob = 0.1 }, true),
};
foreach (var (name, preset, mix) in presets)
{
    var loader = new ImageFolderLoader(dataset, preset.forward, batch, shuffle: true, drop_last: true, num_workers: workers, seed: 1);
    var clock = Stopwatch.StartNew();
    var (images, b) = (0L, 0);
    foreach (var (x, y) in loader.Batches(1).Take(batches))
    {
        using var scope = NewDisposeScope();
        scope.Attach(x, y);
        if (mix)
        {
            using var generator = loader.BatchGenerator(1, b);
            _ = mixing.forward(x, y, generator);
        }
        images += x.shape[0];
        b++;
    }
    Console.WriteLine(JsonSerializer.Serialize(new { preset = name, crop, workers, batch, images, seconds = clock.Elapsed.TotalSeconds, images_per_second = images / clock.Elapsed.TotalSeconds }));
}
