using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

/// <summary>
/// Marks one version requirement of an ELF shared library weak, so the dynamic loader accepts a
/// libstdc++ that lacks it. TorchSharp 0.107's libLibTorchSharp.so is built with GCC 13 and
/// requires GLIBCXX_3.4.32, but the only symbol it needs under that version,
/// std::ios_base_library_init(), is referenced by no relocation: GCC 13 emits it only to pin the
/// version. With the requirement weak the library loads on GCC 12's libstdc++ (Debian 12, Ubuntu 22.04).
/// </summary>
public class WeakenGlibcxxRequirement : Task
{
    const uint SHT_GNU_verneed = 0x6ffffffe;
    const ushort VER_FLG_WEAK = 0x2;

    /// <summary>The shared libraries to patch in place (copies in a build output, never the NuGet cache).</summary>
    [Required]
    public ITaskItem[] Files { get; set; }

    /// <summary>The version requirement to mark weak.</summary>
    public string Version { get; set; } = "GLIBCXX_3.4.32";

    public override bool Execute()
    {
        var libstdcxx = LoadedLibStdCxx();
        if (libstdcxx == null || ContainsVersion(libstdcxx, Version))
            return true;
        foreach (var item in Files)
        {
            var path = item.GetMetadata("FullPath");
            try
            {
                if (Patch(path))
                    Log.LogMessage(MessageImportance.High,
                        "TorchVisionModels: {0} lacks {1}; marked that requirement weak in {2} so TorchSharp loads.",
                        libstdcxx, Version, path);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is InvalidDataException)
            {
                Log.LogError("TorchVisionModels: could not patch {0}: {1}", path, e.Message);
            }
        }
        return !Log.HasLoggedErrors;
    }

    /// <summary>The libstdc++ the .NET runtime running this build has loaded: the one TorchSharp will meet.</summary>
    static string LoadedLibStdCxx()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps))
            return null;
        foreach (var line in File.ReadLines(maps))
        {
            var slash = line.IndexOf('/');
            if (slash >= 0 && line.IndexOf("libstdc++.so", slash, StringComparison.Ordinal) >= 0)
                return line.Substring(slash);
        }
        return null;
    }

    static bool ContainsVersion(string library, string version)
    {
        var bytes = File.ReadAllBytes(library);
        var needle = Encoding.ASCII.GetBytes(version + "\0");
        for (var i = 0; i + needle.Length <= bytes.Length; i++)
        {
            var j = 0;
            while (j < needle.Length && bytes[i + j] == needle[j])
                j++;
            if (j == needle.Length && (i == 0 || bytes[i - 1] == 0))
                return true;
        }
        return false;
    }

    /// <summary>Sets VER_FLG_WEAK on the requirement; returns false when there was nothing to change.</summary>
    bool Patch(string path)
    {
        var elf = File.ReadAllBytes(path);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F' || elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("not a little-endian 64-bit ELF file");

        var shoff = (long)BitConverter.ToUInt64(elf, 0x28);
        var shentsize = BitConverter.ToUInt16(elf, 0x3A);
        var shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (var s = 0; s < shnum; s++)
        {
            var sh = shoff + (long)s * shentsize;
            if (BitConverter.ToUInt32(elf, (int)sh + 4) != SHT_GNU_verneed)
                continue;
            var offset = (long)BitConverter.ToUInt64(elf, (int)sh + 24);
            var link = BitConverter.ToUInt32(elf, (int)sh + 40);
            var count = BitConverter.ToUInt32(elf, (int)sh + 44);
            var strtab = (long)BitConverter.ToUInt64(elf, (int)(shoff + link * shentsize + 24));

            var need = offset;
            for (var n = 0; n < count; n++)
            {
                var auxCount = BitConverter.ToUInt16(elf, (int)need + 2);
                var aux = need + BitConverter.ToUInt32(elf, (int)need + 8);
                for (var a = 0; a < auxCount; a++)
                {
                    var name = CString(elf, strtab + BitConverter.ToUInt32(elf, (int)aux + 8));
                    var flags = BitConverter.ToUInt16(elf, (int)aux + 4);
                    if (name == Version)
                    {
                        if ((flags & VER_FLG_WEAK) != 0)
                            return false;
                        var patched = BitConverter.GetBytes((ushort)(flags | VER_FLG_WEAK));
                        elf[aux + 4] = patched[0];
                        elf[aux + 5] = patched[1];
                        Replace(path, elf);
                        return true;
                    }
                    aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                }
                need += BitConverter.ToUInt32(elf, (int)need + 12);
            }
        }
        return false;
    }

    static string CString(byte[] bytes, long start)
    {
        var end = start;
        while (bytes[end] != 0)
            end++;
        return Encoding.ASCII.GetString(bytes, (int)start, (int)(end - start));
    }

    /// <summary>
    /// Writes beside the file and renames over it, so a hard link into the NuGet cache is never written
    /// through; keeps the timestamp so MSBuild's incremental copy does not bring the unpatched file back.
    /// </summary>
    static void Replace(string path, byte[] contents)
    {
        var stamp = File.GetLastWriteTimeUtc(path);
        var temporary = path + ".weak-glibcxx";
        File.WriteAllBytes(temporary, contents);
        File.SetLastWriteTimeUtc(temporary, stamp);
        File.Replace(temporary, path, null);
    }
}
