using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Inference.Serving;

/// <summary>The server's secrets, read from the files an operator mounts: API keys and the TLS certificate.</summary>
static class ServerSecrets
{
    /// <summary>The shortest key accepted: a guessable key protects nothing.</summary>
    public const int MinimumKeyLength = 16;

    /// <summary>The keys in <paramref name="path"/>, one per line; blank lines and lines starting with # are skipped.</summary>
    /// <exception cref="ArgumentException">The file holds no key, or a key shorter than <see cref="MinimumKeyLength"/>.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static IReadOnlyList<string> ApiKeys(string path)
    {
        var keys = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        if (keys.Count == 0)
            throw new ArgumentException($"--api-key-file {path} holds no key: write one key per line.");
        if (keys.FindIndex(k => k.Length < MinimumKeyLength) is >= 0 and var index)
            throw new ArgumentException($"--api-key-file {path}: key {index + 1} is shorter than {MinimumKeyLength} characters; use long random keys (e.g. openssl rand -hex 32).");
        return keys;
    }

    /// <summary>The certificate in <paramref name="certificatePath"/> with the private key in <paramref name="keyPath"/>, both PEM.</summary>
    /// <exception cref="ArgumentException">They cannot be read as a PEM certificate and its key.</exception>
    public static X509Certificate2 Certificate(string certificatePath, string keyPath)
    {
        try
        {
            return X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or IOException)
        {
            throw new ArgumentException($"--tls-cert {certificatePath} with --tls-key {keyPath}: not a PEM certificate and its private key ({e.Message.TrimEnd('.')}).", e);
        }
    }
}
