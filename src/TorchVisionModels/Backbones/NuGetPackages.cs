using NuGet.Common;
using NuGet.Configuration;
using NuGet.Packaging;
using NuGet.Packaging.Core;
using NuGet.Packaging.Signing;
using NuGet.Protocol;
using NuGet.Protocol.Core.Types;
using NuGet.Versioning;

namespace TorchVisionModels.Backbones;

/// <summary>
/// Packages as <c>dotnet restore</c> keeps them: in the global packages folder (<c>NUGET_PACKAGES</c>, else
/// <c>~/.nuget/packages</c>, or what nuget.config says), fetched there from the user's feeds when missing. NuGet's own
/// client does the work, so nuget.config's sources, credentials, proxies and signature policy apply, and a package
/// fetched here is the one a later restore finds.
/// </summary>
public static class NuGetPackages
{
    /// <summary>
    /// The folder of package <paramref name="id"/> <paramref name="version"/>: the global packages folder's copy, or
    /// one fetched into it from the first enabled feed (in nuget.config's order) that serves it.
    /// </summary>
    /// <param name="id">The package id.</param>
    /// <param name="version">Its exact version.</param>
    /// <param name="log">Hears which feed the package is fetched from, when it is.</param>
    /// <param name="configurationRoot">Where nuget.config is looked for (and in its parents, then the user's); the current directory by default.</param>
    /// <exception cref="WeightsDownloadException">No feed served it; the message names the package, the feeds and how to restore it offline.</exception>
    public static string Resolve(string id, string version, Action<string>? log = null, string? configurationRoot = null)
    {
        var settings = Settings.LoadDefaultSettings(configurationRoot ?? Directory.GetCurrentDirectory());
        var globalFolder = Path.TrimEndingDirectorySeparator(SettingsUtility.GetGlobalPackagesFolder(settings));
        var identity = new PackageIdentity(id, NuGetVersion.Parse(version));
        var layout = new VersionFolderPathResolver(globalFolder);
        var folder = layout.GetInstallPath(id, identity.Version);
        // NuGet writes .nupkg.metadata last: without it the folder is an extraction that did not finish.
        if (File.Exists(layout.GetNupkgMetadataPath(id, identity.Version)))
            return folder;

        var failures = new List<string>();
        using var cache = new SourceCacheContext();
        foreach (var source in new PackageSourceProvider(settings).LoadPackageSources().Where(s => s.IsEnabled))
        {
            try
            {
                if (Repository.Factory.GetCoreV3(source).GetResourceAsync<FindPackageByIdResource>().GetAwaiter().GetResult() is not { } finder)
                {
                    failures.Add($"{source.Source} is not a package feed");
                    continue;
                }
                using var downloader = finder.GetPackageDownloaderAsync(identity, cache, NullLogger.Instance, CancellationToken.None).GetAwaiter().GetResult();
                if (downloader is null)
                {
                    failures.Add($"{source.Source} does not have it");
                    continue;
                }
                log?.Invoke($"fetching {id} {version} from {source.Source} into {globalFolder}");
                var extraction = new PackageExtractionContext(PackageSaveMode.Defaultv3, XmlDocFileSaveMode.None,
                    ClientPolicyContext.GetClientPolicy(settings, NullLogger.Instance), NullLogger.Instance);
                PackageExtractor.InstallFromSourceAsync(identity, downloader, layout, extraction, CancellationToken.None).GetAwaiter().GetResult();
                return folder;
            }
            catch (Exception e) when (e is NuGetProtocolException or FatalProtocolException or HttpRequestException or IOException or InvalidOperationException)
            {
                failures.Add($"{source.Source}: {e.Message.TrimEnd('.')}");
            }
        }
        throw new WeightsDownloadException(
            $"{id} {version} is not in the global packages folder {globalFolder}, and " +
            (failures.Count == 0 ? "nuget.config enables no feed" : $"no feed served it ({string.Join("; ", failures)})") +
            $". Add a feed that serves it to nuget.config, or restore it on a machine that reaches one (dotnet restore of a project with " +
            $"<PackageDownload Include=\"{id}\" Version=\"[{version}]\" />) and copy {Path.Combine(id.ToLowerInvariant(), version)} into {globalFolder}.");
    }
}
