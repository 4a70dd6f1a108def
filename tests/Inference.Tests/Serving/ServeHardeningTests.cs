using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Inference.Serving;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Inference.Tests.Serving;

using static TestServers;

/// <summary>
/// <c>serve</c> against what an attacker on the network can send: every request is bounded before it is
/// allocated, every malformed field is a 400 that names it, the time limit covers decoding, and API keys and TLS
/// guard what they should. Each case is one the server once failed (a 95-byte request took it past 12 GB).
/// </summary>
[Collection(TestServers.Collection)]
public sealed class ServeHardeningTests : IAsyncLifetime
{
    const int PerImage = 3 * 224 * 224;

    readonly TestServers servers = new();
    readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("serve-hardening-");

    static string Input(string shape, string data, string name = "\"input\"", string rest = "")
        => $$"""{"inputs":[{"name":{{name}},"datatype":"FP32","shape":{{shape}},"data":{{data}}}]{{rest}}}""";

    /// <summary>The numbers of one preprocessed image, all <paramref name="value"/> but the first.</summary>
    static string Image(string first, string value = "0")
        => "[" + first + string.Concat(Enumerable.Repeat("," + value, PerImage - 1)) + "]";

    static async Task<(HttpStatusCode status, string error)> Post(HttpClient client, string path, HttpContent content)
    {
        using var response = await client.PostAsync(path, content);
        return (response.StatusCode, response.IsSuccessStatusCode ? "" : await Error(response));
    }

    public static TheoryData<string, string> MalformedRequests => new()
    {
        // The 95-byte request that took the server past 12 GB: a declared shape is checked before it is allocated.
        { Input("[13000,3,224,224]", "[0]"), "inputs[0] holds 13000 images; this server takes at most 8 per request (--max-images-per-request)." },
        { Input("[100000,3,224,224]", "[0]"), "inputs[0] holds 100000 images; this server takes at most 8 per request (--max-images-per-request)." },
        { Input("[2,3,224,224]", "[0]"), "inputs[0].data has 1 numbers; shape [2, 3, 224, 224] needs 301056." },
        { Input("[1.5,3,224,224]", "[0]"), "inputs[0].shape[0] must be a whole number." },
        { Input("[1,3,224,224]", "[0]", rest: ",\"outputs\":[\"logits\"]"), "outputs[0] must be an object with a \"name\"." },
        { Input("[1,3,224,224]", "[0]", rest: ",\"outputs\":[{\"name\":5}]"), "outputs[0].name must be a string." },
        { Input("[1,3,224,224]", "[0]", rest: ",\"parameters\":[1]"), "parameters must be an object." },
        { Input("[1,3,224,224]", "[0]", rest: ",\"parameters\":{\"top_k\":\"5\"}"), "parameters.top_k must be a whole number." },
        { Input("[1,3,224,224]", "[0]", rest: ",\"parameters\":{\"top_k\":1001}"), "parameters.top_k must be 1 to 1000, got 1001." },
        { Input("[1,3,224,224]", "[0]", rest: ",\"id\":5"), "id must be a string." },
        { Input("[1,3,224,224]", "[0]", name: "5"), "inputs[0].name must be a string." },
        { Input("[1,3,224,224]", "[0]", rest: ",\"inputs\":[]"), "\"inputs\" appears twice in the request." },
        { Input("[1,3,224,224]", "[0]", rest: ",\"parameters\":{\"top_k\":1,\"top_k\":2}"), "parameters.top_k appears twice." },
        { Input("[1,3,224,224]", "[0]", rest: ",\"outputs\":[{\"name\":\"logits\",\"name\":\"probabilities\"}]"), "outputs[0].name appears twice." },
        { "{\"inputs\":[{\"name\":\"input\"},{\"name\":\"input\"}]}", "inputs must be an array of one input, 'input' (FP32) or 'image' (BYTES)." },
        { "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"data\":[0]}]}", "inputs[0].shape is missing." },
        { Input("[1,3,224,224]", Image("1e39")), "inputs[0].data[0] is 1e39, not a finite float32." },
        { Input("[1,3,224,224]", Image("\"x\"")), "inputs[0].data[0] is not a number." },
        { Input("[1,3,224,224]", Image("3e38", "3e38")),
            "inputs[0]: image 0 gives logits that are not finite numbers, which JSON cannot carry; its values are far outside the normalised pixels the model takes (mean 0, standard deviation 1 per channel)." },
        { "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[2],\"data\":[\"AA==\"]}]}",
            "inputs[0].shape must be [N] (or [N, 1]) with N = 1, the images in inputs[0].data; got [2]." },
        { "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[5]}]}", "inputs[0].data[0] must be a base64 string of an image file." },
        { "{\"id\":\"a\"} x", "The request body is not JSON: " },
    };

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public async Task AMalformedOrOutOfRangeRequestIs400NamingTheField(string body, string message)
    {
        using var client = await servers.Start(Resnet18(), Options);
        var (status, error) = await Post(client, "/v2/models/resnet18/infer", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith(message, error);
        Assert.Equal(0, await Metric(client, "torchvision_resnet_memory_reserved_bytes"));
    }

    /// <summary>A black PNG of <paramref name="side"/> pixels square: a few KB that decode to side² x 3 bytes.</summary>
    static byte[] BlackPng(int side)
    {
        using var image = new Image<Rgb24>(side, side);
        using var png = new MemoryStream();
        image.SaveAsPng(png);
        return png.ToArray();
    }

    [Fact]
    public async Task AnImageLargerThanTheWholeBudgetIs413BeforeItIsDecoded()
    {
        using var client = await servers.Start(Resnet18(), Options with { MemoryBudgetBytes = 64 << 20 });
        var (status, error) = await Post(client, "/predictions/resnet18", new ByteArrayContent(BlackPng(4000)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("the uploaded image (4000x4000 pixels) needs 122.1 MB, more than the server's memory budget for requests (64 MB, --memory-budget-mb).", error);
    }

    [Fact]
    public async Task ABudgetTakenByOtherRequestsIs503WithRetryAfterAndComesBack()
    {
        var (app, model) = servers.Build(Resnet18(), Options with { MemoryBudgetBytes = 64 << 20 });
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(Address(app)) };
        var photo = File.ReadAllBytes(Path.Combine(Fixtures.Samples, "cat.png"));

        using (model.Memory.Reserve(63 << 20, "other requests"))
        {
            using var refused = await client.PostAsync("/predictions/resnet18", new ByteArrayContent(photo));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("1", refused.Headers.RetryAfter?.ToString());
            Assert.Equal("The server's memory budget for requests (64 MB) is taken by requests in flight. Retry later.", await Error(refused));
        }
        using var served = await client.PostAsync("/predictions/resnet18", new ByteArrayContent(photo));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal(0, model.Memory.Used);
    }

    /// <summary>Eight images that take seconds to decode, under a 300 ms limit: 504 at the limit, not when decoding ends.</summary>
    [Fact]
    public async Task TheTimeLimitCoversDecoding()
    {
        var (app, model) = servers.Build(Resnet18(), Options with { RequestTimeout = TimeSpan.FromMilliseconds(300) });
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(Address(app)) };
        var image = Convert.ToBase64String(BlackPng(5000));
        var body = "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[8],\"data\":["
            + string.Join(",", Enumerable.Repeat($"\"{image}\"", 8)) + "]}]}";

        var clock = Stopwatch.StartNew();
        var (status, error) = await Post(client, "/v2/models/resnet18/infer", new StringContent(body));
        clock.Stop();

        Assert.Equal(HttpStatusCode.GatewayTimeout, status);
        Assert.Equal("The request took longer than the server's limit of 0.3 s.", error);
        // A margin for a loaded 2-core CI machine; measured 0.30-0.32 s (without the fix: the whole decode, over 2 s).
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.3), $"answered after {clock.Elapsed.TotalSeconds:0.00} s");
        // The abandoned decode stops at the next image and returns its memory.
        await WaitFor(() => Task.FromResult(model.Memory.Used == 0));
    }

    /// <summary>
    /// The attacks that took the server past 12 GB, on a server in a child process with a 256 MB budget: 95-byte
    /// requests declaring 13000 images, eight 4000x4000 PNGs at once (128 MB each to decode), four v2 bodies of 16
    /// preprocessed images at once. Resident memory stays within the budget of where it started (plus the model's
    /// workspace, a batch of one here), no request gets a 500, and it falls back once the burst is over.
    /// </summary>
    [Fact]
    public async Task ResidentMemoryStaysWithinTheBudgetUnderAttackAndFallsBack()
    {
        using var child = ChildProcess.Start(ServeWithABudget, new Dictionary<string, string>(), Weights);
        try
        {
            var line = await ServeTests.ReadLineStartingWith(child, "serving ");
            using var client = new HttpClient { BaseAddress = new Uri(line[(line.LastIndexOf(" on ", StringComparison.Ordinal) + 4)..].Trim()), Timeout = TimeSpan.FromMinutes(2) };
            await WaitFor(async () => (await client.GetAsync("/v2/health/ready")).StatusCode == HttpStatusCode.OK);
            var baseline = ResidentMegabytes(child.Id);
            var peak = baseline;
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    peak = Math.Max(peak, ResidentMegabytes(child.Id));
                    await Task.Delay(10);
                }
            });

            var statuses = new List<HttpStatusCode>();
            async Task Send(int count, Func<HttpContent> content, string path = "/v2/models/resnet18/infer")
            {
                var responses = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => client.PostAsync(path, content())));
                statuses.AddRange(responses.Select(r => r.StatusCode));
            }
            for (var i = 0; i < 5; i++)
                await Send(1, () => new StringContent(Input("[13000,3,224,224]", "[0]")));
            var png = BlackPng(4000);
            await Send(8, () => new ByteArrayContent(png), "/predictions/resnet18");
            var images = Input("[16,3,224,224]", "[" + string.Join(",", Enumerable.Repeat("-0.5", 16 * PerImage)) + "]");
            await Send(4, () => new StringContent(images));
            await sampling.CancelAsync();
            await sampler;

            Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.BadRequest));
            Assert.All(statuses, s => Assert.Contains(s, new[] { HttpStatusCode.OK, HttpStatusCode.BadRequest, HttpStatusCode.ServiceUnavailable }));
            Assert.Contains(HttpStatusCode.OK, statuses.Skip(5));
            // The budget and 128 MB for what it does not count (the batcher's queue, the runtime, the model's batch-of-one workspace).
            Assert.True(peak - baseline < 256 + 128, $"resident memory rose from {baseline:0} MB to {peak:0} MB under a 256 MB budget");
            // Given back once the large decodes have been quiet for half a second.
            var after = peak;
            for (var clock = Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(10) && after - baseline >= 128; await Task.Delay(100))
                after = ResidentMegabytes(child.Id);
            Assert.True(after - baseline < 128, $"resident memory stayed at {after:0} MB 10 s after the burst (from {baseline:0} MB)");
        }
        finally
        {
            child.Kill();
        }
    }

    static double ResidentMegabytes(int pid)
        => long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;

    static void ServeWithABudget(string[] arguments)
        => Inference.Cli.Run(["serve", "--model", "resnet18", "--weights", arguments[0], "--port", "0", "--memory-budget-mb", "256",
            "--max-batch-size", "1", "--max-images-per-request", "16"]);

    [Fact]
    public async Task ProbesSayReadyOnlyAfterTheWarmUpAndLiveThroughout()
    {
        using var gate = new GateModel();
        gate.Close();
        var (app, _) = servers.Build(gate.Classifier(), Options);
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(Address(app)) };
        Assert.True(gate.Entered.Wait(TimeSpan.FromSeconds(30)), "the warm-up never reached the model");

        using (var live = await client.GetAsync("/v2/health/live"))
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        using (var ready = await client.GetAsync("/v2/health/ready"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal("{\"ready\":false}", await ready.Content.ReadAsStringAsync());
        }
        using (var modelReady = await client.GetAsync("/v2/models/resnet18/ready"))
            Assert.Equal(HttpStatusCode.ServiceUnavailable, modelReady.StatusCode);

        gate.Open();
        await WaitFor(async () => (await client.GetAsync("/v2/health/ready")).StatusCode == HttpStatusCode.OK);
        using var modelReadyNow = await client.GetAsync("/v2/models/resnet18/ready");
        Assert.Equal("{\"name\":\"resnet18\",\"ready\":true}", await modelReadyNow.Content.ReadAsStringAsync());
    }

    const string Key = "test-key-0123456789abcdef";

    [Fact]
    public async Task ApiKeysGuardInferenceAndMetricsButNotProbes()
    {
        using var client = await servers.Start(Resnet18(), Options with { ApiKeys = [Key, "another-key-0123456789"] });
        var photo = File.ReadAllBytes(Path.Combine(Fixtures.Samples, "cat.png"));

        using (var anonymous = await client.PostAsync("/predictions/resnet18", new ByteArrayContent(photo)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
            Assert.Equal("This endpoint needs an API key: send the header 'Authorization: Bearer KEY'.", await Error(anonymous));
        }
        foreach (var path in new[] { "/metrics", "/v2/models/resnet18", "/v2" })
        {
            using var response = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key[..^1] + "0");
        using (var wrong = await client.PostAsync("/predictions/resnet18", new ByteArrayContent(photo)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            Assert.Equal("The API key is not valid.", await Error(wrong));
        }

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        using (var allowed = await client.PostAsync("/predictions/resnet18", new ByteArrayContent(photo)))
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        using (var metrics = await client.GetAsync("/metrics"))
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);

        client.DefaultRequestHeaders.Authorization = null;
        foreach (var probe in new[] { "/v2/health/live", "/v2/health/ready" })
        {
            using var response = await client.GetAsync(probe);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Theory]
    [InlineData("Open", HttpStatusCode.OK)]
    [InlineData("Off", HttpStatusCode.NotFound)]
    public async Task MetricsCanBeOpenOrOffWhateverTheKeys(string access, HttpStatusCode status)
    {
        using var client = await servers.Start(Resnet18(), Options with { ApiKeys = [Key], Metrics = Enum.Parse<MetricsAccess>(access) });
        using var response = await client.GetAsync("/metrics");
        Assert.Equal(status, response.StatusCode);
    }

    [Fact]
    public async Task HttpsFromAPemCertificateAndKey()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var issued = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certificatePath = Path.Combine(directory.FullName, "server.crt");
        var keyPath = Path.Combine(directory.FullName, "server.key");
        File.WriteAllText(certificatePath, issued.ExportCertificatePem());
        File.WriteAllText(keyPath, rsa.ExportPkcs8PrivateKeyPem());

        using var certificate = ServerSecrets.Certificate(certificatePath, keyPath);
        using var pinned = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.Thumbprint == issued.Thumbprint };
        using var client = await servers.Start(Resnet18(), Options with { Certificate = certificate }, handler: pinned);

        Assert.Equal("https", client.BaseAddress!.Scheme);
        using var response = await client.PostAsync("/predictions/resnet18", new ByteArrayContent(File.ReadAllBytes(Path.Combine(Fixtures.Samples, "cat.png"))));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var plain = new HttpClient();
        await Assert.ThrowsAsync<HttpRequestException>(() => plain.GetAsync(new UriBuilder(client.BaseAddress) { Scheme = "http" }.Uri));
    }

    [Fact]
    public void SecretsThatCannotBeUsedAreNamed()
    {
        var keys = Path.Combine(directory.FullName, "keys");
        File.WriteAllText(keys, "# no keys yet\n\n");
        Assert.Equal($"--api-key-file {keys} holds no key: write one key per line.",
            Assert.Throws<ArgumentException>(() => ServerSecrets.ApiKeys(keys)).Message);
        File.WriteAllText(keys, $"{Key}\nshort\n");
        Assert.Equal($"--api-key-file {keys}: key 2 is shorter than 16 characters; use long random keys (e.g. openssl rand -hex 32).",
            Assert.Throws<ArgumentException>(() => ServerSecrets.ApiKeys(keys)).Message);
        File.WriteAllText(keys, $"  {Key}  \n# a comment\n");
        Assert.Equal([Key], ServerSecrets.ApiKeys(keys));

        Assert.StartsWith($"--tls-cert {keys} with --tls-key {keys}: not a PEM certificate and its private key (",
            Assert.Throws<ArgumentException>(() => ServerSecrets.Certificate(keys, keys)).Message);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await servers.DisposeAsync();
        directory.Delete(recursive: true);
    }
}
