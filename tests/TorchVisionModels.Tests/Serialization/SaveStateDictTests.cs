using TorchVisionModels.Serialization;

namespace TorchVisionModels.Tests.Serialization;

/// <summary>Files the C# side writes load in PyTorch with load_state_dict(strict=True), bit for bit, and back here.</summary>
public class SaveStateDictTests
{
    [Theory]
    [InlineData("resnet18.pth")]
    [InlineData("resnet18.safetensors")]
    public void PyTorchLoadsWhatWeSave(string name)
    {
        var reference = Fixtures.PathOf("forward_resnet18.weights.pt");
        var directory = Directory.CreateTempSubdirectory("save-state-dict-");
        try
        {
            var path = Path.Combine(directory.FullName, name);
            using (var model = torchvision.models.resnet18())
            {
                model.load_state_dict(reference);
                model.SaveStateDict(path);
            }
            Assert.Equal([name], directory.GetFiles().Select(f => f.Name));

            var (exitCode, output) = Fixtures.RunPython("check_state_dict.py", path, "--model", "resnet18", "--reference", reference);
            Assert.True(exitCode == 0, output);
            Assert.Equal("ok", output.Trim());

            using var reloaded = torchvision.models.resnet18();
            Assert.True(reloaded.load_state_dict(path).IsComplete);
            ModelCases.AssertDigests(reloaded, "forward_resnet18.weights.json");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
