using TorchVisionModels.Datasets;

namespace TorchVisionModels.Tests.Datasets;

/// <summary><see cref="FolderWalk.Files"/> streams a tree in the order its paths sort, each real folder once.</summary>
public sealed class FolderWalkTests : IDisposable
{
    readonly DirectoryInfo root = Directory.CreateTempSubdirectory("folder-walk-");

    public void Dispose() => root.Delete(recursive: true);

    string Touch(string relative)
    {
        var path = Path.Combine(root.FullName, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, []);
        return path;
    }

    [Fact]
    public void FilesComeInTheOrdinalOrderOfTheirPaths()
    {
        // "b.jpg" sorts before "b/..." ('.' < '/'), "b/..." before "b0.jpg" ('/' < '0'), "B" before "a": ordinal.
        string[] names = ["b/x.jpg", "b.jpg", "b0.jpg", "a/z/y.png", "a/a.png", "B.png", "b/c/d.jpg", "notes.txt"];
        foreach (var name in names)
            Touch(name);
        var files = FolderWalk.Files(root.FullName, name => !name.EndsWith(".txt", StringComparison.Ordinal), _ => Assert.Fail("no links here")).ToList();
        var expected = names.Where(n => !n.EndsWith(".txt", StringComparison.Ordinal)).Select(n => Path.Combine(root.FullName, n)).Order(StringComparer.Ordinal);
        Assert.Equal(expected, files);
    }

    [Fact]
    public void ALinkToAFolderWalkedAlreadyIsNamedOnceAndNotFollowed()
    {
        var file = Touch("photos/cat.jpg");
        var loop = Path.Combine(root.FullName, "photos", "loop");
        Directory.CreateSymbolicLink(loop, root.FullName);
        var repeated = new List<string>();
        Assert.Equal([file], FolderWalk.Files(root.FullName, _ => true, repeated.Add));
        Assert.Equal([loop], repeated);
    }

    [Fact]
    public void NothingIsListedBeforeItIsAskedFor()
    {
        Touch("a/1.jpg");
        Touch("b/2.jpg");
        using var files = FolderWalk.Files(root.FullName, _ => true, _ => { }).GetEnumerator();
        Assert.True(files.MoveNext());
        Assert.Equal(Path.Combine(root.FullName, "a", "1.jpg"), files.Current);
        // A file added to a folder the walk has not reached yet is still found: each folder is read when reached.
        Touch("b/3.jpg");
        Assert.True(files.MoveNext());
        Assert.True(files.MoveNext());
        Assert.Equal(Path.Combine(root.FullName, "b", "3.jpg"), files.Current);
        Assert.False(files.MoveNext());
    }
}
