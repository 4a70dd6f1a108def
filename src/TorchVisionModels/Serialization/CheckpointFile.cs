using System.IO.Compression;
using System.Text.Json;
using static TorchSharp.torch;

namespace TorchVisionModels.Serialization;

/// <summary>
/// An open checkpoint file of any supported format, its format recognised by content. Its tensors are read
/// only when asked, so keys and shapes can be checked (and skipped tensors never read) first. Dispose it when done.
/// </summary>
public sealed class CheckpointFile : IDisposable
{
    /// <summary>Keys under which training scripts commonly store the model's state dict inside a checkpoint dict.</summary>
    static readonly string[] StateDictKeys = ["state_dict", "model", "model_state_dict"];

    readonly FileStream file;
    readonly ZipArchive? archive;
    readonly List<Tensor> storages = [];

    CheckpointFile(string path, FileStream file, ZipArchive? archive, CheckpointFormat format)
    {
        Path = path;
        this.file = file;
        this.archive = archive;
        Format = format;
    }

    /// <summary>The file's path, as given.</summary>
    public string Path { get; }

    /// <summary>The format the file's content was recognised as.</summary>
    public CheckpointFormat Format { get; }

    /// <summary>
    /// The whole saved object: for torch.save files whatever was pickled (dictionaries, lists, numbers, strings,
    /// <see cref="StoredTensor"/>s, inert <see cref="PickleObject"/>s); for the other formats a dictionary of tensors.
    /// </summary>
    public object? Contents { get; private set; }

    /// <summary>Opens <paramref name="path"/> and reads its structure (not yet its tensors' data).</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="CheckpointException">The file is not a checkpoint this library reads; the message says why.</exception>
    public static CheckpointFile Open(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Checkpoint {path} does not exist.", path);
        var file = File.OpenRead(path);
        CheckpointFile? checkpoint = null;
        CheckpointFormat? format = null;
        try
        {
            var head = new byte[16];
            var length = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            file.Position = 0;
            if (PyTorchFormat.MatchesLegacy(head))
                throw new CheckpointException(
                    $"{path} was written by torch.save in PyTorch's legacy (pre-1.6) format, which this library does not read. " +
                    "Re-save it with PyTorch 1.6 or later: torch.save(torch.load(\"old.pth\"), \"new.pth\").");
            format = PyTorchFormat.Matches(head) ? CheckpointFormat.PyTorch
                : SafetensorsFormat.Matches(head.AsSpan(0, length), file.Length) ? CheckpointFormat.Safetensors
                : CheckpointFormat.TorchSharp;
            var archive = format == CheckpointFormat.PyTorch ? new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true) : null;
            checkpoint = new CheckpointFile(path, file, archive, format.Value);
            checkpoint.Contents = format switch
            {
                CheckpointFormat.PyTorch => PyTorchFormat.Read(archive!, checkpoint.storages),
                CheckpointFormat.Safetensors => SafetensorsFormat.Read(file),
                _ => TorchSharpFormat.Read(file),
            };
            return checkpoint;
        }
        catch (Exception e)
        {
            if (checkpoint is null)
                file.Dispose();
            else
                checkpoint.Dispose();
            if (e is CheckpointException || !IsFormatError(e))
                throw;
            throw new CheckpointException(NotACheckpoint(path, e, format), e);
        }
    }

    /// <summary>The exceptions that malformed content raises while parsing (as opposed to, say, a failing disk).</summary>
    internal static bool IsFormatError(Exception e)
        => e is InvalidDataException or EndOfStreamException or JsonException or KeyNotFoundException
            or InvalidOperationException or InvalidCastException or OverflowException or IndexOutOfRangeException or ArgumentOutOfRangeException;

    static string NotACheckpoint(string path, Exception e, CheckpointFormat? format = null)
        => format is CheckpointFormat.PyTorch or CheckpointFormat.Safetensors
            ? $"{path} is not a readable {format} checkpoint: {e.Message.TrimEnd('.')}. It may be truncated or corrupt; export it again."
            : $"{path} is not a checkpoint: it is neither a PyTorch (torch.save), safetensors nor TorchSharp file. " +
              "scripts/export_weights.py writes one from torchvision's weights.";

    /// <summary>
    /// The model weights in the file: the file's dictionary of tensors itself, or the one stored under
    /// "state_dict", "model" or "model_state_dict" of a training checkpoint; a "module." prefix on every key
    /// (DataParallel, DistributedDataParallel) is removed.
    /// </summary>
    /// <exception cref="CheckpointException">The file holds something else, such as a whole pickled model.</exception>
    public IReadOnlyDictionary<string, StoredTensor> GetStateDict()
    {
        var tensors = Contents switch
        {
            PickleDictionary d when IsStateDict(d) => d,
            PickleDictionary d when StateDictKeys.FirstOrDefault(k => d.TryGetValue(k, out var v) && v is PickleDictionary inner && IsStateDict(inner)) is { } key => (PickleDictionary)d[key]!,
            PickleDictionary d => throw new CheckpointException(
                $"{Path} holds a dict that is not a state dict and has none under {string.Join(", ", StateDictKeys.Select(k => $"'{k}'"))} " +
                $"(its keys: {string.Join(", ", d.Keys.Take(10).Select(k => $"'{k}'"))}{(d.Count > 10 ? ", ..." : "")})."),
            PickleObject o => throw new CheckpointException(
                $"{Path} holds a pickled {o.type} object, not a state dict. Re-save it in Python with torch.save(model.state_dict(), path)."),
            _ => throw new CheckpointException($"{Path} holds no state dict (a dict of tensors)."),
        };
        var keys = tensors.Keys.Cast<string>().ToList();
        var prefixed = keys.Count > 0 && keys.All(k => k.StartsWith("module.", StringComparison.Ordinal));
        return tensors.ToDictionary(kv => prefixed ? ((string)kv.Key)["module.".Length..] : (string)kv.Key, kv => (StoredTensor)kv.Value!);
    }

    static bool IsStateDict(PickleDictionary d) => d.Count > 0 && d.All(kv => kv.Key is string && kv.Value is StoredTensor);

    /// <summary>Closes the file and frees the storages read from it (tensors already read stay valid).</summary>
    public void Dispose()
    {
        foreach (var storage in storages)
            storage.Dispose();
        storages.Clear();
        archive?.Dispose();
        file.Dispose();
    }
}
