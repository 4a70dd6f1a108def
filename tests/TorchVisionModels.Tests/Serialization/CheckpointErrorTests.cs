using TorchVisionModels.Serialization;

namespace TorchVisionModels.Tests.Serialization;

/// <summary>A file that is not a state dict gets one clear message naming it; nothing in a pickle is ever run.</summary>
public class CheckpointErrorTests
{
    static string FileOf(string name) => Fixtures.PathOf(Path.Combine("serialization", name));

    static string ErrorFor(string path)
    {
        using var model = torchvision.models.resnet18();
        return Assert.Throws<CheckpointException>(() => model.load_state_dict(path)).Message;
    }

    [Fact]
    public void LegacyFormatSaysHowToResave()
        => Assert.Equal(
            $"{FileOf("legacy.pth")} was written by torch.save in PyTorch's legacy (pre-1.6) format, which this library does not read. " +
            "Re-save it with PyTorch 1.6 or later: torch.save(torch.load(\"old.pth\"), \"new.pth\").",
            ErrorFor(FileOf("legacy.pth")));

    [Fact]
    public void WholePickledModelIsNamed()
        => Assert.Equal(
            $"{FileOf("small_whole_model.pth")} holds a pickled torchvision.models.resnet.ResNet object, not a state dict. " +
            "Re-save it in Python with torch.save(model.state_dict(), path).",
            ErrorFor(FileOf("small_whole_model.pth")));

    [Fact]
    public void PickledCodeIsNeverRun()
    {
        Assert.Equal(
            $"{FileOf("exploit.pth")} holds a pickled posix.system object, not a state dict. Re-save it in Python with torch.save(model.state_dict(), path).",
            ErrorFor(FileOf("exploit.pth")));
        Assert.False(File.Exists(Path.Combine(Fixtures.Directory, "serialization", "exploit-ran")));
    }

    /// <summary>Strides whose products overflow 64 bits once wrapped round to "inside the storage", and libtorch crashed.</summary>
    [Fact]
    public void StridesThatOverflowAreOutsideTheStorage()
        => Assert.Equal(
            $"{FileOf("stride_overflow.pth")} is not a readable PyTorch checkpoint: one of its tensors lies outside its storage. It may be truncated or corrupt; export it again.",
            ErrorFor(FileOf("stride_overflow.pth")));

    [Fact]
    public void DictWithoutTensorsListsItsKeys()
        => Assert.Equal(
            $"{FileOf("no_tensors.pth")} holds a dict that is not a state dict and has none under 'state_dict', 'model', 'model_state_dict' (its keys: 'epoch', 'lr').",
            ErrorFor(FileOf("no_tensors.pth")));

    [Theory]
    [InlineData("random.bin")]
    [InlineData("image.jpg")]
    public void NotACheckpointAtAll(string name)
        => Assert.Equal(
            $"{FileOf(name)} is not a checkpoint: it is neither a PyTorch (torch.save), safetensors nor TorchSharp file. scripts/export_weights.py writes one from torchvision's weights.",
            ErrorFor(FileOf(name)));

    [Fact]
    public void MissingFileIsNamed()
    {
        using var model = torchvision.models.resnet18();
        var e = Assert.Throws<FileNotFoundException>(() => model.load_state_dict("/nonexistent/resnet18.pth"));
        Assert.Equal("Checkpoint /nonexistent/resnet18.pth does not exist.", e.Message);
    }

    [Fact]
    public void PickleBombIsRefusedBeforeItInflates()
    {
        var path = FileOf("pickle_bomb.pth");
        var before = GC.GetAllocatedBytesForCurrentThread();
        var message = ErrorFor(path);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal($"{path} is not a readable PyTorch checkpoint: its data.pkl record inflates past 64 MB: a checkpoint's pickle is a few KB to a few MB, so this is not one. It may be truncated or corrupt; export it again.", message);
        Assert.True(allocated < 160 << 20, $"{allocated:N0} bytes allocated");
    }
}
