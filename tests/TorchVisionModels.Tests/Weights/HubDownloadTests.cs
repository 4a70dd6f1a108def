using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace TorchVisionModels.Tests.Weights;

/// <summary>Downloads into torch.hub's cache, against an HTTP server on 127.0.0.1: never a half-written file.</summary>
public sealed class HubDownloadTests : IDisposable
{
    static readonly byte[] Payload = RandomNumberGenerator.GetBytes(3 << 20);
    static readonly string Hash = Convert.ToHexStringLower(SHA256.HashData(Payload))[..8];

    readonly HttpListener server = new();
    readonly DirectoryInfo cache = Directory.CreateTempSubdirectory("hub-");
    readonly string root;
    int requests;

    public HubDownloadTests()
    {
        var port = FreePort();
        root = $"http://127.0.0.1:{port}/";
        server.Prefixes.Add(root);
        server.Start();
        _ = Task.Run(Serve);
    }

    static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    async Task Serve()
    {
        while (server.IsListening)
        {
            HttpListenerContext context;
            try { context = await server.GetContextAsync(); }
            catch (HttpListenerException) { return; }
            catch (ObjectDisposedException) { return; }
            Interlocked.Increment(ref requests);
            var response = context.Response;
            var path = context.Request.Url!.AbsolutePath;
            if (path.StartsWith("/missing"))
            {
                response.StatusCode = 404;
                response.Close();
                continue;
            }
            response.ContentLength64 = Payload.Length;
            if (path.StartsWith("/stall"))
            {
                await response.OutputStream.WriteAsync(Payload.AsMemory(0, Payload.Length / 2));
                await response.OutputStream.FlushAsync();
                await Task.Delay(TimeSpan.FromSeconds(20));
                response.Abort();
                continue;
            }
            if (path.StartsWith("/cut"))
            {
                await response.OutputStream.WriteAsync(Payload.AsMemory(0, Payload.Length / 2));
                await response.OutputStream.FlushAsync();
                response.Abort();
                continue;
            }
            await response.OutputStream.WriteAsync(Payload);
            response.Close();
        }
    }

    string[] CacheFiles() => cache.GetFiles("*", SearchOption.AllDirectories).Select(f => f.Name).ToArray();

    [Fact]
    public void DownloadsChecksAndCaches()
    {
        var url = $"{root}weights/resnet-{Hash}.pth";
        var path = Hub.DownloadCached(url, cache.FullName, progress: false, checkHash: true);

        Assert.Equal(Path.Combine(cache.FullName, $"resnet-{Hash}.pth"), path);
        Assert.Equal(Payload, File.ReadAllBytes(path));
        Assert.Equal(path, Hub.DownloadCached(url, cache.FullName, progress: false, checkHash: true));
        Assert.Equal(1, requests);
        Assert.Equal([$"resnet-{Hash}.pth"], CacheFiles());
    }

    [Fact]
    public void WrongHashIsDiscarded()
    {
        var url = $"{root}resnet-00000000.pth";
        var e = Assert.Throws<WeightsDownloadException>(() => Hub.DownloadCached(url, cache.FullName, progress: false, checkHash: true));
        Assert.Equal($"{url}: invalid hash value (expected \"00000000\", got \"{Convert.ToHexStringLower(SHA256.HashData(Payload))}\"); the download was discarded.", e.Message);
        Assert.Empty(CacheFiles());
    }

    [Fact]
    public void InterruptedDownloadLeavesNothing()
    {
        var url = $"{root}cut-{Hash}.pth";
        var e = Assert.Throws<WeightsDownloadException>(() => Hub.DownloadCached(url, cache.FullName, progress: false, checkHash: true));
        Assert.StartsWith($"Download of {url} was interrupted after ", e.Message);
        Assert.EndsWith("; nothing was saved. Run again to retry.", e.Message);
        Assert.Empty(CacheFiles());
    }

    [Fact]
    public void OfflineSaysWhereToPutTheFile()
    {
        var url = $"http://127.0.0.1:{FreePort()}/resnet-{Hash}.pth";
        var e = Assert.Throws<WeightsDownloadException>(() => Hub.DownloadCached(url, cache.FullName, progress: false));
        Assert.StartsWith($"Cannot download {url} (", e.Message);
        Assert.EndsWith($"). Offline, put the file at {Path.Combine(cache.FullName, $"resnet-{Hash}.pth")} (PyTorch's cache, so a copy PyTorch downloaded works), " +
            "or pass a local weights file instead: scripts/export_weights.py writes one on a machine with PyTorch.", e.Message);
        Assert.Empty(CacheFiles());
    }

    [Fact]
    public void HttpErrorIsReported()
    {
        var url = $"{root}missing-{Hash}.pth";
        var e = Assert.Throws<WeightsDownloadException>(() => Hub.DownloadCached(url, cache.FullName, progress: false));
        Assert.Contains("404", e.Message);
        Assert.Empty(CacheFiles());
    }

    [Fact]
    public void StalledDownloadGivesUpAndLeavesNothing()
    {
        var url = $"{root}stall-{Hash}.pth";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<WeightsDownloadException>(() => Hub.DownloadCached(url, cache.FullName, progress: false, readTimeout: TimeSpan.FromSeconds(1)));
        Assert.Equal($"Download of {url} stalled: the server sent nothing for 1 s after {Payload.Length / 2:N0} of {Payload.Length:N0} bytes; nothing was saved. Run again to retry.", e.Message);
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.9, 10);
        Assert.Empty(CacheFiles());
    }

    /// <summary>SIGTERM mid-download (a stalled one, so it is surely mid-way) leaves no .partial file behind.</summary>
    [Fact]
    public async Task TerminatedDownloadLeavesNothing()
    {
        using var child = ChildProcess.Start(DownloadInThisProcess, new Dictionary<string, string>(), $"{root}stall-{Hash}.pth", cache.FullName);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (CacheFiles().Length == 0 && clock.Elapsed < TimeSpan.FromSeconds(30))
            await Task.Delay(50);
        Assert.Single(CacheFiles(), name => name.EndsWith(".partial", StringComparison.Ordinal));

        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", child.Id.ToString()]))
            await kill.WaitForExitAsync();
        await child.WaitForExitAsync();

        Assert.Empty(CacheFiles());
    }

    static void DownloadInThisProcess(string[] arguments) => Hub.DownloadCached(arguments[0], arguments[1], progress: false);

    /// <summary>A server that sends no length and closes early: only the hash, checked by default, tells the file is short.</summary>
    [Fact]
    public async Task CloseDelimitedCutIsCaughtByTheDefaultHashCheck()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serve = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            using var stream = client.GetStream();
            var request = new byte[4096];
            _ = await stream.ReadAsync(request);
            await stream.WriteAsync("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"u8.ToArray());
            await stream.WriteAsync(Payload.AsMemory(0, Payload.Length / 2));
        });
        var url = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/resnet-{Hash}.pth";

        var e = Assert.Throws<WeightsDownloadException>(() => Hub.DownloadCached(url, cache.FullName, progress: false));

        Assert.StartsWith($"{url}: invalid hash value (expected \"{Hash}\", got \"", e.Message);
        Assert.Empty(CacheFiles());
        await serve;
    }

    public void Dispose()
    {
        server.Stop();
        server.Close();
        cache.Delete(recursive: true);
    }
}
