using TorchSharp;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace TorchVisionModels.Classification;

/// <summary>
/// The classic classification script as a class: decode, preprocess with the weights' preset, run the model in
/// eval mode, softmax, top-k. Images go through in batches; a file that cannot be decoded is reported in its result
/// and the rest of the batch still runs. <see cref="Load"/> makes one from a weights name or file, on the fastest
/// measured backend; disposing it then disposes the model.
/// </summary>
public sealed class ImageClassifier : IDisposable
{
    readonly nn.Module<Tensor, Tensor> model;
    readonly ImageClassification transforms;
    readonly IReadOnlyList<string> categories;
    readonly Device device;
    readonly IDisposable[] owned = [];

    /// <summary>Puts <paramref name="model"/> in eval mode on <paramref name="device"/> (CPU by default).</summary>
    /// <param name="model">The network; its outputs are logits over <paramref name="categories"/>.</param>
    /// <param name="transforms">The preprocessing, normally the weights' <see cref="Weights.transforms"/>.</param>
    /// <param name="categories">The class names, by output index.</param>
    /// <param name="device">Where to run the model.</param>
    public ImageClassifier(nn.Module<Tensor, Tensor> model, ImageClassification transforms, IReadOnlyList<string> categories, Device? device = null)
    {
        this.device = device ?? CPU;
        this.model = model;
        this.transforms = transforms;
        this.categories = categories;
        model.to(this.device);
        model.eval();
    }

    ImageClassifier(nn.Module<Tensor, Tensor> model, ModelSource source, ImageClassification transforms, Device device, BackendChoice backend)
        : this(model, transforms, source.Categories, device)
    {
        Source = source;
        Backend = backend;
        owned = [model, source];
    }

    /// <summary>
    /// Loads <paramref name="weights"/> (see <see cref="ModelSource.Load"/>: torchvision's by name, a checkpoint
    /// or an .onnx file) and runs it as <paramref name="options"/> say, by default on the fastest measured backend
    /// (<see cref="BackendChoice.For(ClassifierOptions, string?)"/>).
    /// </summary>
    /// <param name="architecture">The builder's name, e.g. resnet50; null for what the weights' model card says (see <see cref="ModelSource.Load"/>).</param>
    /// <param name="weights">DEFAULT, a weights name such as IMAGENET1K_V2, or a file.</param>
    /// <param name="options">Backend, device, type, preprocessing; null for the defaults.</param>
    /// <param name="categoriesFile">The class names of a checkpoint, when not beside it.</param>
    /// <exception cref="OptionException">The options cannot run together, or on this machine.</exception>
    public static ImageClassifier Load(string? architecture, string weights, ClassifierOptions? options = null, string? categoriesFile = null)
    {
        options ??= new ClassifierOptions();
        // The options are checked before any weights are read or downloaded.
        var (backend, device) = BackendChoice.For(options, ModelSource.IsOnnxFile(weights) ? weights : null);
        var source = ModelSource.Load(architecture, weights, categoriesFile, options.Progress);
        try
        {
            var preset = options.Preprocessing?.Invoke(source.Transforms) ?? source.Transforms;
            // A mean image fixes the crop: refused here once, not for every image.
            if (source.Transforms.MeanImage is not null && preset.crop_size != source.Transforms.crop_size)
                throw new OptionException("CropSize", preset.crop_size, $"the model's preprocessing subtracts a {source.Transforms.crop_size}x{source.Transforms.crop_size} mean image",
                    ("CropSize", source.Transforms.crop_size));
            var runner = ModelRunner.Create(source, backend.Backend, device, options, preset);
            return new ImageClassifier(runner, source, preset, device, backend);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>What <see cref="Load"/> loaded: the weights, categories and preset; null when the model was given.</summary>
    public ModelSource? Source { get; }

    /// <summary>The backend that runs the model and why; null when the model was given.</summary>
    public BackendChoice? Backend { get; }

    /// <summary>The module that computes the logits (TorchSharp, or ONNX Runtime behind a TorchSharp module).</summary>
    public nn.Module<Tensor, Tensor> Model => model;

    /// <summary>The preprocessing applied to each image.</summary>
    public ImageClassification Transforms => transforms;

    /// <summary>The class names, by output index.</summary>
    public IReadOnlyList<string> Categories => categories;

    /// <summary>The device the model runs on.</summary>
    public Device Device => device;

    /// <summary>
    /// Classifies <paramref name="files"/>, <paramref name="batchSize"/> at a time, yielding results in order. The
    /// next batch is decoded and preprocessed on other threads while the model runs on this one.
    /// </summary>
    /// <param name="files">Image files (JPEG, PNG, BMP, GIF, WebP).</param>
    /// <param name="topk">How many classes to report per image.</param>
    /// <param name="batchSize">Images per forward pass.</param>
    /// <param name="applyExifOrientation">Rotate images as their EXIF orientation says (PIL and so torchvision do not).</param>
    public IEnumerable<ClassificationResult> Classify(IEnumerable<string> files, int topk = 5, int batchSize = 8, bool applyExifOrientation = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(topk, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(topk, categories.Count);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        using var batches = files.Chunk(batchSize).GetEnumerator();
        Task<Preprocessed>? Next() => batches.MoveNext() ? Task.Run(() => Preprocess(batches.Current, applyExifOrientation)) : null;
        var pending = Next();
        try
        {
            while (pending is not null)
            {
                var ready = pending.GetAwaiter().GetResult();
                pending = Next();
                foreach (var result in Run(ready, topk))
                    yield return result;
            }
        }
        finally
        {
            // Stopped early: free the batch prepared in advance.
            if (pending is not null)
            {
                foreach (var input in pending.GetAwaiter().GetResult().Inputs)
                    input.tensor?.Dispose();
            }
        }
    }

    /// <summary>A batch's files and, for each, its preprocessed tensor or why it could not be read.</summary>
    sealed record Preprocessed(string[] Files, (Tensor? tensor, string? error, bool internalError)[] Inputs);

    Preprocessed Preprocess(string[] files, bool applyExifOrientation)
    {
        // Decoding and resizing are pure .NET work: spread them over the cores.
        var inputs = files.AsParallel().AsOrdered().Select(file =>
        {
            try
            {
                return (tensor: (Tensor?)transforms.forward(ImageFile.Load(file, applyExifOrientation)), error: (string?)null, internalError: false);
            }
            catch (ImageFileException e)
            {
                return (tensor: null, error: e.Message, internalError: false);
            }
            catch (Exception e)
            {
                // A bug met on one file must not take the batch's other images down with it.
                return (tensor: null, error: $"internal error on {file}: {e.GetType().Name}: {e.Message}", internalError: true);
            }
        }).ToArray();
        return new(files, inputs);
    }

    ClassificationResult[] Run(Preprocessed batch, int topk)
    {
        using var scope = NewDisposeScope();
        var decoded = batch.Inputs.Where(i => i.tensor is not null).Select(i => i.tensor!).ToArray();
        scope.Attach(decoded);
        var top = new List<Prediction[]>();
        if (decoded.Length > 0)
        {
            using var _ = inference_mode();
            top.AddRange(Top(model.call(stack(decoded).to(device)), topk));
        }

        var next = 0;
        return batch.Files.Select((file, i) => batch.Inputs[i].error is { } error
            ? new ClassificationResult(file, null, error, batch.Inputs[i].internalError)
            : new ClassificationResult(file, top[next++], null)).ToArray();
    }

    /// <summary>The top <paramref name="topk"/> classes of one image's logits, computed as <see cref="Classify"/> computes them.</summary>
    public IReadOnlyList<Prediction> TopK(float[] logits, int topk)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(topk, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(topk, categories.Count);
        using var scope = NewDisposeScope();
        return Top(tensor(logits).unsqueeze(0), topk)[0];
    }

    /// <summary>The probabilities of one image's logits: the softmax <see cref="Classify"/> computes.</summary>
    public static float[] Probabilities(float[] logits)
    {
        using var scope = NewDisposeScope();
        return Softmax(tensor(logits).unsqueeze(0)).data<float>().ToArray();
    }

    static Tensor Softmax(Tensor logits) => nn.functional.softmax(logits.to(float32), dim: 1);

    /// <summary>Softmax over each row of <paramref name="logits"/>, then its <paramref name="topk"/> most probable classes.</summary>
    Prediction[][] Top(Tensor logits, int topk)
    {
        var (probabilities, indices) = Softmax(logits).topk(topk, dim: 1);
        var p = probabilities.cpu().data<float>().ToArray();
        var k = indices.cpu().data<long>().ToArray();
        return [.. Enumerable.Range(0, (int)logits.shape[0])
            .Select(row => Enumerable.Range(row * topk, topk).Select(i => new Prediction(categories[(int)k[i]], k[i], p[i])).ToArray())];
    }

    /// <summary>Disposes what <see cref="Load"/> made; a model given to the constructor stays the caller's.</summary>
    public void Dispose()
    {
        foreach (var resource in owned)
            resource.Dispose();
    }
}
