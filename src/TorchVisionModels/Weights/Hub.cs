using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace TorchVisionModels;

/// <summary>
/// torch.hub's checkpoint cache: files live in <c>$TORCH_HOME/hub/checkpoints</c> (by default
/// <c>~/.cache/torch/hub/checkpoints</c>), so a file PyTorch downloaded is reused here and the other way round.
/// </summary>
public static partial class Hub
{
    /// <summary>torch.hub.get_dir(): <c>$TORCH_HOME/hub</c>, where TORCH_HOME defaults to <c>$XDG_CACHE_HOME/torch</c> or <c>~/.cache/torch</c>.</summary>
    public static string get_dir()
    {
        var torchHome = Environment.GetEnvironmentVariable("TORCH_HOME") is { Length: > 0 } home ? home
            : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } cache ? cache
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "torch");
        return Path.Combine(torchHome, "hub");
    }

    /// <summary>
    /// The local copy of <paramref name="url"/> in <paramref name="modelDir"/> (default <c>get_dir()/checkpoints</c>),
    /// downloaded first if missing, like torch.hub.load_state_dict_from_url. The download goes to a temporary file
    /// that is renamed only when complete (and, with <paramref name="checkHash"/>, only when its SHA-256 starts with
    /// the hex digits after the last '-' of the file name), so a failed, stalled or interrupted download, or one
    /// stopped by SIGTERM or Ctrl+C, leaves nothing behind.
    /// </summary>
    /// <param name="url">The file's address; its name is the cached file's name.</param>
    /// <param name="modelDir">The cache folder.</param>
    /// <param name="progress">Draw a progress bar on stderr.</param>
    /// <param name="checkHash">
    /// Check the SHA-256 prefix in the file name. On by default (torch.hub's is off): a server that closes the
    /// connection early without having sent a length leaves a short file that only the hash can tell.
    /// </param>
    /// <param name="client">The HTTP client; a shared one by default.</param>
    /// <param name="readTimeout">How long the server may send nothing (for the headers or within the body) before the download is given up; <see cref="DefaultReadTimeout"/> by default.</param>
    /// <exception cref="WeightsDownloadException">The download failed, stalled, was cut short, or has the wrong hash; the message says what to do.</exception>
    public static string DownloadCached(string url, string? modelDir = null, bool progress = true, bool checkHash = true, HttpClient? client = null,
        TimeSpan? readTimeout = null)
    {
        var timeout = readTimeout ?? DefaultReadTimeout;
        modelDir ??= Path.Combine(get_dir(), "checkpoints");
        var fileName = Path.GetFileName(new Uri(url).AbsolutePath);
        var destination = Path.Combine(modelDir, fileName);
        if (File.Exists(destination))
            return destination;

        Directory.CreateDirectory(modelDir);
        var temporary = Path.Combine(modelDir, $".{fileName}.{Guid.NewGuid():N}.partial");
        // SIGTERM, Ctrl+C and SIGQUIT end the process without running finally blocks: remove the file on the way out.
        var onSignals = new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT }
            .Select(signal => PosixSignalRegistration.Create(signal, _ => RemoveQuietly(temporary))).ToList();
        long received = 0;
        long? total = null;
        using var silence = new CancellationTokenSource();
        try
        {
            var http = client ?? Shared.Value;
            silence.CancelAfter(timeout);
            using var response = http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, silence.Token).GetAwaiter().GetResult();
            response.EnsureSuccessStatusCode();
            total = response.Content.Headers.ContentLength;
            using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using (var source = response.Content.ReadAsStream())
            using (var target = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                var buffer = new byte[1 << 20];
                var bar = progress && !Console.IsErrorRedirected ? new ProgressBar(fileName, total) : null;
                for (int read; (read = ReadWithin(source, buffer, silence, timeout)) > 0;)
                {
                    target.Write(buffer, 0, read);
                    sha256.AppendData(buffer, 0, read);
                    received += read;
                    bar?.Report(received);
                }
                bar?.Done();
            }
            if (total is { } expected && received != expected)
                throw new IOException($"the server sent {received} of {expected} bytes");

            var digest = Convert.ToHexStringLower(sha256.GetHashAndReset());
            if (checkHash && HashPrefix().Match(fileName) is { Success: true } match && !digest.StartsWith(match.Groups[1].Value, StringComparison.Ordinal))
                throw new WeightsDownloadException($"{url}: invalid hash value (expected \"{match.Groups[1].Value}\", got \"{digest}\"); the download was discarded.");
            File.Move(temporary, destination, overwrite: true);
            return destination;
        }
        catch (OperationCanceledException) when (silence.IsCancellationRequested)
        {
            throw new WeightsDownloadException(
                $"Download of {url} stalled: the server sent nothing for {timeout.TotalSeconds:0.#} s after {received:N0}{(total is { } t ? $" of {t:N0}" : "")} bytes; " +
                "nothing was saved. Run again to retry.");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && e is not WeightsDownloadException)
        {
            throw new WeightsDownloadException(received > 0
                ? $"Download of {url} was interrupted after {received:N0}{(total is { } t ? $" of {t:N0}" : "")} bytes ({e.Message.TrimEnd('.')}); nothing was saved. Run again to retry."
                : $"Cannot download {url} ({e.Message.TrimEnd('.')}). Offline, put the file at {destination} (PyTorch's cache, so a copy PyTorch downloaded works), " +
                  "or pass a local weights file instead: scripts/export_weights.py writes one on a machine with PyTorch.", e);
        }
        finally
        {
            File.Delete(temporary);
            onSignals.ForEach(registration => registration.Dispose());
        }
    }

    static void RemoveQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The process is ending anyway; the next download uses a new temporary name.
        }
    }

    /// <summary>How long a download may receive nothing before it is given up, unless told otherwise: one minute.</summary>
    public static readonly TimeSpan DefaultReadTimeout = TimeSpan.FromMinutes(1);

    /// <summary>One read that must return within <paramref name="timeout"/>; the token is then cancelled.</summary>
    static int ReadWithin(Stream source, byte[] buffer, CancellationTokenSource silence, TimeSpan timeout)
    {
        silence.CancelAfter(timeout);
        return source.ReadAsync(buffer, silence.Token).AsTask().GetAwaiter().GetResult();
    }

    /// <summary>torch.hub's HASH_REGEX: the hex digits between the last '-' and the extension.</summary>
    [GeneratedRegex(@"-([a-f0-9]*)\.")]
    private static partial Regex HashPrefix();

    static readonly Lazy<HttpClient> Shared = new(() => new HttpClient { Timeout = TimeSpan.FromMinutes(30) });

    /// <summary>A one-line progress bar on stderr, redrawn in place.</summary>
    sealed class ProgressBar(string name, long? total)
    {
        long lastDrawn = -1;
        bool drawn;

        public void Report(long received)
        {
            var percent = total is > 0 ? (int)(received * 100 / total.Value) : -1;
            if (percent == lastDrawn && percent >= 0)
                return;
            lastDrawn = percent;
            var amount = total is { } t ? $"{received / 1048576.0:F1}/{t / 1048576.0:F1} MB" : $"{received / 1048576.0:F1} MB";
            var bar = percent >= 0 ? $"[{new string('#', percent / 5),-20}] {percent,3}% " : "";
            Console.Error.Write($"\r{name} {bar}{amount}");
            drawn = true;
        }

        /// <summary>Ends the bar's line, if one was drawn.</summary>
        public void Done()
        {
            if (drawn)
                Console.Error.WriteLine();
        }
    }
}

/// <summary>Pretrained weights that could not be downloaded; the message says why and what to do offline.</summary>
public sealed class WeightsDownloadException(string message, Exception? inner = null) : IOException(message, inner);
