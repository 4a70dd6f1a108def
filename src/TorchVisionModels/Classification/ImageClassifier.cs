using TorchSharp;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace TorchVisionModels.Classification;

/// <summary>
/// The classic classification script as a class: decode, preprocess with the weights' preset, run the model in
/// eval mode, softmax, top-k. Images go through in batches; a file that cannot be decoded is reported in its result
/// and the rest of the batch still runs.
/// </summary>
public sealed class ImageClassifier
{
    readonly nn.Module<Tensor, Tensor> model;
    readonly ImageClassification transforms;
    readonly IReadOnlyList<string> categories;
    readonly Device device;

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
                foreach (var input in pending.GetAwaiter().GetResult().inputs)
                    input.tensor?.Dispose();
            }
        }
    }

    /// <summary>A batch's files and, for each, its preprocessed tensor or why it could not be read.</summary>
    sealed record Preprocessed(string[] files, (Tensor? tensor, string? error, bool internalError)[] inputs);

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
        var decoded = batch.inputs.Where(i => i.tensor is not null).Select(i => i.tensor!).ToArray();
        scope.Attach(decoded);
        var top = new List<Prediction[]>();
        if (decoded.Length > 0)
        {
            using var _ = inference_mode();
            var logits = model.call(stack(decoded).to(device));
            var (probabilities, indices) = nn.functional.softmax(logits, dim: 1).topk(topk, dim: 1);
            var p = probabilities.cpu().data<float>().ToArray();
            var k = indices.cpu().data<long>().ToArray();
            for (var row = 0; row < decoded.Length; row++)
                top.Add(Enumerable.Range(row * topk, topk).Select(i => new Prediction(categories[(int)k[i]], k[i], p[i])).ToArray());
        }

        var next = 0;
        return batch.files.Select((file, i) => batch.inputs[i].error is { } error
            ? new ClassificationResult(file, null, error, batch.inputs[i].internalError)
            : new ClassificationResult(file, top[next++], null)).ToArray();
    }
}
