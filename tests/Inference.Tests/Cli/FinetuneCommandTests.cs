using System.Text.Json;
using TorchVisionModels.Serialization;
using TorchVisionModels.Training;

namespace Inference.Tests.Cli;

/// <summary>
/// <c>finetune</c> and <c>evaluate</c> end to end on 200 Fashion-MNIST images: checkpoints that classify, resume and
/// evaluate to the accuracy training reported, and a clear error for every bad input before training starts.
/// </summary>
public class FinetuneCommandTests : IDisposable
{
    static readonly string Data = Path.Combine(Fixtures.Directory, "fashion-mnist-small");
    static readonly string[] Recipe = ["--model", "resnet18", "--batch-size", "50", "--lr", "0.02", "--crop-size", "32", "--resize-size", "32", "--min-scale", "0.5"];

    readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("finetune-");

    string Out(string name) => Path.Combine(directory.FullName, name);

    [Fact]
    public void TrainsResumesEvaluatesAndClassifies()
    {
        var (exitCode, output, error) = CliRunner.Run(["finetune", "--data", $"{Data}/train", "--val", $"{Data}/test", "--epochs", "2", "--out", Out("run"), .. Recipe]);
        Assert.True(exitCode == 0, error);
        Assert.StartsWith("resnet18 on cpu: 200 training images, 200 validation, 10 classes; epochs 1..2, seed 0", output);
        Assert.Contains("epoch 2/2  loss ", output);
        Assert.Contains($"weights in {Out("run/best.pt")}, described by {Out("run/best.card.json")}, which classify, evaluate and export read", output);
        var metrics = File.ReadAllLines(Out("run/metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([1L, 2L], metrics.Select(m => m.GetProperty("epoch").GetInt64()));

        // Resuming with more epochs continues the run (exact reproduction is TrainerTests' subject).
        Assert.Equal(0, CliRunner.Run(["finetune", "--data", $"{Data}/train", "--val", $"{Data}/test", "--epochs", "1", "--out", Out("more"), .. Recipe]).exitCode);
        (exitCode, output, error) = CliRunner.Run(["finetune", "--data", $"{Data}/train", "--val", $"{Data}/test", "--epochs", "2", "--out", Out("more"), "--resume", Out("more/last.pt"), .. Recipe]);
        Assert.True(exitCode == 0, error);
        Assert.Contains("epochs 2..2", output);
        Assert.Equal(2, File.ReadAllLines(Out("more/metrics.jsonl")).Length);
        Assert.Equal("8", TrainingCheckpoint.ReadMetadata(Out("more/last.pt"))["step"]);

        var best = metrics.MaxBy(m => m.GetProperty("val_top1").GetDouble());
        // The plain TorchSharp model is what training evaluated with: the same numbers exactly.
        (exitCode, output, error) = CliRunner.Run("evaluate", "--weights", Out("run/best.pt"), "--data", $"{Data}/test", "--backend", "torch", "--fast", "false", "--json");
        Assert.True(exitCode == 0, error);
        var evaluation = JsonDocument.Parse(output).RootElement;
        Assert.Equal(best.GetProperty("val_top1").GetDouble(), evaluation.GetProperty("top1").GetDouble(), 1e-9);
        Assert.Equal(best.GetProperty("val_top5").GetDouble(), evaluation.GetProperty("top5").GetDouble(), 1e-9);
        Assert.Equal(Enumerable.Repeat(20L, 10), evaluation.GetProperty("classes").EnumerateArray().Select(c => c.GetProperty("images").GetInt64()));

        (exitCode, output, _) = CliRunner.Run("evaluate", "--weights", Out("run/best.pt"), "--data", $"{Data}/test");
        Assert.Equal(0, exitCode);
        Assert.Contains("class          images    top-1", output);
        Assert.Contains("9-ankle-boot       20", output);

        var image = Directory.GetFiles(Path.Combine(Data, "test", "1-trouser"))[0];
        (exitCode, output, error) = CliRunner.Run("classify", "--weights", Out("run/best.pt"), "--json", image);
        Assert.True(exitCode == 0, error);
        var top = JsonDocument.Parse(output).RootElement.GetProperty("results")[0].GetProperty("top");
        Assert.All(top.EnumerateArray(), p => Assert.Matches("^[0-9]-[a-z-]+$", p.GetProperty("label").GetString()));
    }

    /// <summary>
    /// The issue's case: a ResNet-50 with GroupNorm and a dilated layer4, trained, then classified, evaluated and
    /// exported from its weights alone (the card beside them says the rest); ONNX Runtime on the export gives
    /// classify's top-5.
    /// </summary>
    [Fact]
    public void TheModelCardCarriesTheOptionsToEveryCommand()
    {
        var (exitCode, _, error) = CliRunner.Run(["finetune", "--data", $"{Data}/train", "--val", $"{Data}/test", "--epochs", "1", "--out", Out("gn"),
            .. Recipe[2..], "--model", "resnet50", "--norm", "gn", "--replace-stride-with-dilation", "false,false,true"]);
        Assert.True(exitCode == 0, error);
        var card = ModelCard.Read(Out("gn/best.card.json"));
        Assert.Equal(("resnet50", "gn", 10L, 32), (card.Architecture, card.NormLayer, card.NumClasses, card.Transforms.CropSize));
        Assert.Equal([false, false, true], card.ReplaceStrideWithDilation);

        var images = Directory.GetFiles(Path.Combine(Data, "test", "1-trouser")).Take(4).ToArray();
        var top5 = Top5(["classify", "--weights", Out("gn/best.pt"), "--backend", "torch", "--fast", "false", "--json", .. images]);
        Assert.Equal(top5, Top5(["classify", "--weights", Out("gn/best.pt"), "--json", .. images]));
        Assert.Equal(top5, Top5(["classify", "--weights", Out("gn/best.pt"), "--backend", "torch", "--json", .. images]));

        (exitCode, var output, error) = CliRunner.Run("evaluate", "--weights", Out("gn/best.pt"), "--data", $"{Data}/test", "--json");
        Assert.True(exitCode == 0, error);
        Assert.Equal(200, JsonDocument.Parse(output).RootElement.GetProperty("images").GetInt64());

        (exitCode, output, error) = CliRunner.Run("export", "--weights", Out("gn/best.pt"), "--out", Out("gn/model.onnx"));
        Assert.True(exitCode == 0, error);
        Assert.StartsWith($"wrote {Out("gn/model.onnx")} (resnet50, resnet50 trained from scratch, ", output);
        Assert.Equal(top5, Top5(["classify", "--weights", Out("gn/model.onnx"), "--json", .. images]));
    }

    /// <summary>
    /// Fine-tuned from ML.NET's ResNet-18 (a NuGet package: no download.pytorch.org), then classified on each backend,
    /// evaluated, exported and resumed from its files alone: the card carries the network no builder makes and its
    /// BGR, mean-image input.
    /// </summary>
    [Fact]
    public void FromTheNuGetBackboneEveryCommandNeedsOnlyTheWeights()
    {
        var (exitCode, output, error) = CliRunner.Run(["finetune", "--data", $"{Data}/train", "--val", $"{Data}/test", "--weights", "mlnet-resnet18",
            "--epochs", "1", "--batch-size", "50", "--out", Out("mlnet")]);
        Assert.True(exitCode == 0, error);
        Assert.StartsWith("ResNet(BasicBlock, [2, 2, 2, 3]) on cpu: 200 training images, 200 validation, 10 classes; epochs 1..1, seed 0", output);
        var card = ModelCard.Read(Out("mlnet/best.card.json"));
        Assert.Equal(("ResNet", "BasicBlock", "BGR", 224, 256), (card.Architecture, card.Block, card.Transforms.ChannelOrder, card.Transforms.CropSize, card.Transforms.ResizeSize));
        Assert.Equal([2L, 2, 2, 3], card.Layers);
        Assert.Equal("ResNet(BasicBlock, [2, 2, 2, 3]) fine-tuned from mlnet-resnet18 (Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0)", card.Weights);

        var images = Directory.GetFiles(Path.Combine(Data, "test", "8-bag")).Take(4).ToArray();
        (exitCode, _, error) = CliRunner.Run(["classify", "--weights", Out("mlnet/best.pt"), "--crop-size", "192", .. images]);
        Assert.Equal((2, "error: --crop-size 192: the model's preprocessing subtracts a 224x224 mean image; use --crop-size 224."), (exitCode, error.Trim()));
        var top5 = Top5(["classify", "--weights", Out("mlnet/best.pt"), "--backend", "torch", "--fast", "false", "--json", .. images]);
        Assert.Equal(top5, Top5(["classify", "--weights", Out("mlnet/best.pt"), "--json", .. images]));

        // PyTorch builds torchvision's ResNet(BasicBlock, [2, 2, 2, 3]) from the card, loads the weights strictly and
        // preprocesses with PIL as the card says: the same top-5, the same probabilities.
        (exitCode, output, error) = CliRunner.Run(["classify", "--weights", Out("mlnet/best.pt"), "--backend", "torch", "--fast", "false", "--json", .. images]);
        Assert.True(exitCode == 0, error);
        var ours = JsonDocument.Parse(output).RootElement.GetProperty("results").EnumerateArray()
            .Select(r => r.GetProperty("top").EnumerateArray().Select(p => (Index: p.GetProperty("index").GetInt64(), Probability: p.GetProperty("probability").GetDouble())).ToList()).ToList();
        var (pythonExit, python) = Fixtures.RunPython("classify_with_card.py", [Out("mlnet/best.pt"), .. images]);
        Assert.True(pythonExit == 0, python);
        var pytorch = python.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal(images.Length, pytorch.Count);
        foreach (var (mine, theirs) in ours.Zip(pytorch))
        {
            Assert.Equal(theirs.GetProperty("indices").EnumerateArray().Select(i => i.GetInt64()), mine.Select(p => p.Index));
            // Measured at most 6e-8 apart (AMD EPYC, family 25 model 17): libtorch 2.10's kernels against torch 1.13's.
            Assert.All(mine.Zip(theirs.GetProperty("probabilities").EnumerateArray()), pair => Assert.Equal(pair.Second.GetDouble(), pair.First.Probability, 1e-6));
        }

        (exitCode, output, error) = CliRunner.Run("evaluate", "--weights", Out("mlnet/best.pt"), "--data", $"{Data}/test", "--backend", "torch", "--fast", "false", "--json");
        Assert.True(exitCode == 0, error);
        var metrics = JsonDocument.Parse(File.ReadAllLines(Out("mlnet/metrics.jsonl"))[0]).RootElement;
        Assert.Equal(metrics.GetProperty("val_top1").GetDouble(), JsonDocument.Parse(output).RootElement.GetProperty("top1").GetDouble(), 1e-9);

        (exitCode, output, error) = CliRunner.Run("export", "--weights", Out("mlnet/best.pt"), "--out", Out("mlnet/model.onnx"));
        Assert.True(exitCode == 0, error);
        Assert.Equal(top5, Top5(["classify", "--weights", Out("mlnet/model.onnx"), "--json", .. images]));

        // Resumed from its checkpoint alone: the card rebuilds the network.
        (exitCode, output, error) = CliRunner.Run(["finetune", "--data", $"{Data}/train", "--val", $"{Data}/test", "--epochs", "2", "--resume", Out("mlnet/last.pt"), "--out", Out("mlnet")]);
        Assert.True(exitCode == 0, error);
        Assert.Contains("epochs 2..2", output);
    }

    /// <summary>Each image's top-5 class indices, as classify --json prints them.</summary>
    static string[] Top5(string[] arguments)
    {
        var (exitCode, output, error) = CliRunner.Run(arguments);
        Assert.True(exitCode == 0, error);
        return [.. JsonDocument.Parse(output).RootElement.GetProperty("results").EnumerateArray()
            .Select(r => string.Join(",", r.GetProperty("top").EnumerateArray().Select(p => p.GetProperty("index").GetInt64())))];
    }

    [Fact]
    public void FrozenBackboneFromACheckpointTrainsOnlyTheNewHead()
    {
        var source = Out("source.pt");
        using (var model = torchvision.models.resnet18())
            model.SaveStateDict(source);
        var (exitCode, output, error) = CliRunner.Run(["finetune", "--data", $"{Data}/train", "--weights", source, "--freeze-backbone", "--epochs", "1", "--out", Out("frozen"), .. Recipe]);
        Assert.True(exitCode == 0, error);
        Assert.StartsWith("resnet18 on cpu: 180 training images, 20 validation, 10 classes", output);
        using var before = torchvision.models.resnet18();
        before.load_state_dict(source);
        using var after = torchvision.models.resnet18(num_classes: 10, norm_layer: c => new FrozenBatchNorm2d(c));
        after.load_state_dict(Out("frozen/best.pt"));
        var original = before.state_dict();
        Assert.All(after.state_dict().Where(kv => !kv.Key.StartsWith("fc.")), kv => Assert.True(Fixtures.BitIdentical(original[kv.Key], kv.Value), kv.Key));
    }

    [Fact]
    public void ARecipeRunRecordsItsSettingsAndResumesWithThem()
    {
        string[] small = ["--model", "resnet18", "--ra-reps", "1", "--batch-size", "16", "--train-crop-size", "32", "--crop-size", "32", "--resize-size", "32",
            "--interpolation", "bicubic"];
        var (exitCode, output, error) = CliRunner.Run(["finetune", "--data", $"{Data}/train", "--val", $"{Data}/test", "--recipe", "torchvision-v2", "--epochs", "1", "--out", Out("v2"), .. small]);
        Assert.True(exitCode == 0, error);
        Assert.Contains("EMA top-1 ", output);
        var training = ModelCard.Read(Out("v2/last.card.json")).Training!;
        Assert.Equal(("bicubic", "bicubic"), (training["interpolation"], ModelCard.Read(Out("v2/last.card.json")).Transforms.Interpolation));
        // The recipe's rate for 128 images a step, scaled to 16: 0.0625 x 16 / 128.
        Assert.Equal("0.0078125", training["lr"]);
        Assert.Equal(("ta_wide", "0.1", "0.2", "1", "true", "0", "sgd-momentum", "1"),
            (training["auto-augment"], training["random-erase"], training["mixup-alpha"], training["cutmix-alpha"], training["model-ema"], training["norm-weight-decay"], training["optimizer"], training["epochs"]));
        using (var checkpoint = CheckpointFile.Open(Out("v2/last.pt")))
            Assert.Contains("model_ema", ((PickleDictionary)checkpoint.Contents!).Keys.Cast<string>());
        Assert.Equal(JsonValueKind.Number, JsonDocument.Parse(File.ReadAllLines(Out("v2/metrics.jsonl"))[0]).RootElement.GetProperty("val_top1_ema").ValueKind);

        // Resumed without the recipe, the run goes on with the settings its card recorded.
        (exitCode, output, error) = CliRunner.Run(["finetune", "--data", $"{Data}/train", "--val", $"{Data}/test", "--epochs", "2", "--resume", Out("v2/last.pt"), "--out", Out("v2"), "--model", "resnet18"]);
        Assert.True(exitCode == 0, error);
        Assert.Contains("epochs 2..2", output);
        var resumed = ModelCard.Read(Out("v2/last.card.json")).Training!;
        Assert.Equal(training.Where(kv => kv.Key != "epochs"), resumed.Where(kv => kv.Key != "epochs"));
        Assert.Equal("2", resumed["epochs"]);
    }

    public static TheoryData<string[], string> BadInputs => new()
    {
        { ["--data", "/nonexistent/train"], "error: --data /nonexistent/train: does not exist." },
        { ["--data", $"{Data}/train", "--batch-size", "500"], "error: --batch-size 500: more than the 180 training images; use --batch-size 180." },
        { ["--data", $"{Data}/train", "--val", $"{Data}/test", "--val-split", "0.2"], "error: --val-split 0.2: a validation folder is given too; give one or the other." },
        { ["--data", $"{Data}/train", "--val-split", "1.5"], "error: --val-split 1.5: must be between 0 and 1." },
        { ["--data", $"{Data}/train", "--freeze-backbone"], "error: --freeze-backbone: a randomly initialised backbone is not worth freezing; use --weights DEFAULT." },
        { ["--data", $"{Data}/train", "--weights", "IMAGENET1K_V9"], "error: --weights IMAGENET1K_V9: neither a file nor weights of resnet50 (DEFAULT, IMAGENET1K_V1, IMAGENET1K_V2)." },
        { ["--data", $"{Data}/train", "--resume", "/nonexistent/last.pt"], "error: --resume /nonexistent/last.pt: does not exist." },
        { ["--data", $"{Data}/train", "--weights", "DEFAULT", "--freeze-backbone", "--norm", "gn"], "error: --norm gn: freezing the backbone freezes batch norm; use --norm frozen-bn." },
        { ["--data", $"{Data}/train", "--min-scale", "0"], "error: --min-scale 0: must be in (0, 1]." },
        { ["--data", $"{Data}/train", "--auto-augment", "augmax"], "error: --auto-augment augmax: is not one of ra, ta_wide, augmix, imagenet, cifar10, svhn." },
        { ["--data", $"{Data}/train", "--auto-augment", "augmix", "--interpolation", "bicubic"],
            "error: --interpolation bicubic: AugMix's operations run on tensors, which torchvision samples nearest or bilinear; use --interpolation bilinear." },
        { ["--data", $"{Data}/train", "--random-erase", "1.5"], "error: --random-erase 1.5: must be a probability, from 0 to 1." },
        { ["--data", $"{Data}/train", "--mixup-alpha", "-1"], "error: --mixup-alpha -1: must be 0 (none) or more." },
        { ["--data", $"{Data}/train", "--clip-grad-norm", "0"], "error: --clip-grad-norm 0: must be more than 0." },
        { ["--data", $"{Data}/train", "--model-ema", "--model-ema-decay", "1"], "error: --model-ema-decay 1: must be between 0 and 1." },
        { ["--data", $"{Data}/train", "--recipe", "v3"], "error: --recipe v3: is not one of torchvision-v2." },
        { ["--data", $"{Data}/train", "--auto-augment", "augmix", "--augmix-severity", "11"], "error: --augmix-severity 11: must be from 1 to 10." },
        { ["--data", $"{Data}/train", "--interpolation", "lanczos"], "error: --interpolation lanczos: is not one of bilinear, bicubic." },
        { ["--data", $"{Data}/train", "--model", "resnet18", "--weights", "mlnet-resnet18"],
            "error: --model resnet18: the weights mlnet-resnet18 (Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0) are ResNet(BasicBlock, [2, 2, 2, 3]); leave the architecture to them." },
        { ["--data", $"{Data}/train", "--weights", "mlnet-resnet18", "--train-crop-size", "176"],
            "error: --train-crop-size 176: the weights' preprocessing subtracts a 224x224 mean image; use --train-crop-size 224." },
        { ["--data", $"{Data}/train", "--recipe", "torchvision-v2"], "error: --ra-reps 4: repeated augmentation keeps the training images rounded down to a multiple of 256, and there are 180; use --ra-reps 1." },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void BadInputIsReportedBeforeTraining(string[] options, string message)
    {
        var (exitCode, _, error) = CliRunner.Run(["finetune", "--out", Out("bad"), .. options]);
        Assert.Equal(2, exitCode);
        Assert.Equal(message, error.Trim());
        Assert.False(Directory.Exists(Out("bad")));
    }

    [Fact]
    public void TreesWithoutTwoUsableClassesAreRefused()
    {
        var one = Directory.CreateDirectory(Out("one/only"));
        File.Copy(Directory.GetFiles(Path.Combine(Data, "train", "1-trouser"))[0], Path.Combine(one.FullName, "a.png"));
        var (exitCode, _, error) = CliRunner.Run("finetune", "--data", Out("one"), "--out", Out("bad"));
        Assert.Equal(2, exitCode);
        Assert.Equal($"error: --data {Out("one")}: has one class folder (only); a classifier needs at least two.", error.Trim());

        Directory.CreateDirectory(Out("one/empty"));
        (exitCode, _, error) = CliRunner.Run("finetune", "--data", Out("one"), "--out", Out("bad"));
        Assert.Equal(2, exitCode);
        Assert.Equal($"error: Image folder {Out("one")} has no image in class folder(s) empty. Supported extensions are: .jpg, .jpeg, .png, .bmp, .webp.", error.Trim());
    }

    [Fact]
    public void UnknownModelIsRefused()
    {
        var (exitCode, _, error) = CliRunner.Run("finetune", "--data", $"{Data}/train", "--out", Out("bad"), "--model", "resnet51");
        Assert.Equal(2, exitCode);
        Assert.StartsWith("Argument 'resnet51' not recognized. Must be one of:", error.Trim());
    }

    public void Dispose() => directory.Delete(recursive: true);
}
