namespace TorchVisionModels.Datasets;

/// <summary>
/// A folder and the folders below it, symbolic links followed as torchvision's <c>os.walk(followlinks=True)</c>
/// follows them, but each real folder once: a link back to a parent, or to the folder itself, would otherwise
/// repeat its files without end.
/// </summary>
public static class FolderWalk
{
    /// <summary>
    /// <paramref name="root"/> and every folder below it, each real folder once, sorted ordinally; the links that
    /// lead to a folder already walked go to <paramref name="repeated"/> instead.
    /// </summary>
    public static IReadOnlyList<string> Folders(string root, ICollection<string> repeated)
    {
        var rootReal = RealPath(root, Path.GetFullPath(root));
        var seen = new HashSet<string>(StringComparer.Ordinal) { rootReal };
        var folders = new List<string>();
        var pending = new Stack<(string path, string real)>();
        pending.Push((root, rootReal));
        while (pending.Count > 0)
        {
            var (folder, real) = pending.Pop();
            folders.Add(folder);
            foreach (var child in Directory.EnumerateDirectories(folder))
            {
                var childReal = RealPath(child, Path.Combine(real, Path.GetFileName(child)));
                if (seen.Add(childReal))
                    pending.Push((child, childReal));
                else
                    repeated.Add(child);
            }
        }
        folders.Sort(StringComparer.Ordinal);
        return folders;
    }

    /// <summary>The folder a link leads to in the end, or <paramref name="real"/> (its parent's real path and its name) when it is no link.</summary>
    static string RealPath(string path, string real)
    {
        var info = new DirectoryInfo(path);
        return info.LinkTarget is null ? real : Path.GetFullPath(info.ResolveLinkTarget(returnFinalTarget: true)!.FullName).TrimEnd(Path.DirectorySeparatorChar);
    }
}
