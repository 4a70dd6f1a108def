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

    /// <summary>
    /// The files below <paramref name="root"/> that <paramref name="include"/> takes (by name), in the ordinal order of
    /// their paths, found as they are asked for: one folder's entries are held at a time, so a tree of any size
    /// streams. Links are followed as <see cref="Folders"/> follows them, each real folder once; a link to a folder
    /// already walked goes to <paramref name="repeated"/> when it is met.
    /// </summary>
    public static IEnumerable<string> Files(string root, Func<string, bool> include, Action<string> repeated)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return Walk(root, RealPath(root, Path.GetFullPath(root)));

        IEnumerable<string> Walk(string folder, string real)
        {
            seen.Add(real);
            // Sorted as their paths sort: a subfolder as its name and a separator, so "b.jpg" comes before "b/x.jpg".
            var entries = new DirectoryInfo(folder).EnumerateFileSystemInfos()
                .Where(e => e is DirectoryInfo || include(e.Name))
                .OrderBy(e => e is DirectoryInfo ? e.Name + Path.DirectorySeparatorChar : e.Name, StringComparer.Ordinal)
                .ToList();
            foreach (var entry in entries)
            {
                var path = Path.Combine(folder, entry.Name);
                if (entry is not DirectoryInfo)
                {
                    yield return path;
                    continue;
                }
                var childReal = RealPath(path, Path.Combine(real, entry.Name));
                if (seen.Contains(childReal))
                {
                    repeated(path);
                    continue;
                }
                foreach (var file in Walk(path, childReal))
                    yield return file;
            }
        }
    }

    /// <summary>The folder a link leads to in the end, or <paramref name="real"/> (its parent's real path and its name) when it is no link.</summary>
    static string RealPath(string path, string real)
    {
        var info = new DirectoryInfo(path);
        return info.LinkTarget is null ? real : Path.GetFullPath(info.ResolveLinkTarget(returnFinalTarget: true)!.FullName).TrimEnd(Path.DirectorySeparatorChar);
    }
}
