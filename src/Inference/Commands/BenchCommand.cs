using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using TorchVisionModels;
using TorchVisionModels.Classification;
using static TorchSharp.torch;

namespace Inference.Commands;

/// <summary>
/// <c>bench</c>: inference latency and throughput of an architecture on random input, per batch size: median and
/// p90 milliseconds per batch, images per second, and the process's peak resident memory. Warm-up excluded. With
/// <c>--train</c>, the same for training steps: forward, cross-entropy, backward and an SGD step, as the trainer runs them.
/// </summary>
static class BenchCommand
{
    public static Command Create()
    {
        var model = ArchitectureOption.Create();
        var batchSizes = new Option<int[]>("--batch-size")
        {
            Description = "Batch sizes, e.g. 1,8",
            DefaultValueFactory = _ => [1, 8],
            CustomParser = r => r.Tokens.SelectMany(t => t.Value.Split(',')).Select(v => int.TryParse(v, out var n) && n > 0 ? n : -1).ToArray(),
        };
        batchSizes.Validators.Add(r => { if (r.GetValueOrDefault<int[]>()?.Any(n => n < 1) != false) r.AddError("--batch-size takes positive whole numbers separated by commas"); });
        var iterations = OptionRules.Positive(new Option<int>("--iters") { Description = "Timed iterations per batch size", DefaultValueFactory = _ => 20 });
        var warmup = new Option<int>("--warmup") { Description = "Untimed iterations first", DefaultValueFactory = _ => 3 };
        var size = OptionRules.Positive(new Option<int>("--input-size") { Description = "Image height and width", DefaultValueFactory = _ => 224 });
        var run = new RunOptions();
        var onnx = new Option<string?>("--onnx") { Description = "With --backend onnxruntime: benchmark this .onnx file (say, one torch.onnx.export wrote)" };
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var train = new Option<bool>("--train") { Description = "Time training steps (forward, loss, backward, SGD with momentum) instead of inference" };

        var command = new Command("bench", "Measure inference (or, with --train, training-step) latency, throughput and peak memory.")
        {
            model, batchSizes, iterations, warmup, size, onnx, train, json,
        };
        foreach (var option in run.All)
            command.Options.Add(option);
        command.SetAction(result => ExitCodes.Report(result, () =>
        {
            var architecture = result.GetValue(model)!;
            var options = run.Read(result, progress: false, preset => preset);
            if (options.Threads > 0)
                set_num_threads(options.Threads);
            if (result.GetValue(onnx) is not null && options.Backend != InferenceBackend.OnnxRuntime)
                throw new ArgumentException("--onnx needs --backend onnxruntime.");
            if (result.GetValue(train) && (options.Backend == InferenceBackend.OnnxRuntime || options.Dtype != ScalarType.Float32))
                throw new ArgumentException("--train measures the float32 TorchSharp model: drop --backend and --dtype.");
            var (ran, on) = BackendChoice.For(options, result.GetValue(onnx));
            var (side, batches) = (result.GetValue(size), result.GetValue(batchSizes)!);
            var (warm, iters) = (result.GetValue(warmup), result.GetValue(iterations));
            List<Row> rows;
            string mode;
            var dtype = RunOptions.Name(options.Dtype);
            if (result.GetValue(train))
            {
                NativeAllocator.KeepFreedMemory();
                using var network = torchvision.models.get_model_builder(architecture)();
                network.to(on);
                rows = batches.Select(b => Measure(TrainingStep(network, b, side, on), b, warm, iters)).ToList();
                mode = "train";
                ran = new BackendChoice(InferenceBackend.Torch, "training");
            }
            else
            {
                using var source = result.GetValue(onnx) is { } path ? ModelSource.Load(null, path) : ModelSource.Untrained(architecture);
                using var runner = ModelRunner.Create(source, ran.Backend, on, options, source.Transforms with { crop_size = side });
                rows = batches.Select(b => Measure(Inference(runner, b, side, on), b, warm, iters)).ToList();
                mode = "inference";
                // An int8 .onnx file computes in int8 whatever --dtype says.
                dtype = source.Quantization is null ? dtype : RunOptions.Name(ScalarType.Int8);
            }
            Write(result.InvocationConfiguration.Output, result.GetValue(json), architecture, ran.Backend, on.ToString(), dtype, mode, get_num_threads(), rows);
            return 0;
        }));
        return command;
    }

    /// <summary>One batch size's numbers; resident memory after warm-up and after the timed iterations shows growth.</summary>
    public sealed record Row(int BatchSize, double MedianMs, double P90Ms, double ImagesPerSecond, double PeakRssMb, double RssAfterWarmupMb, double RssAtEndMb);

    /// <summary>Something to time, once per call, and what to free afterwards.</summary>
    sealed record Case(Action Run, IDisposable Resources);

    static Case Inference(nn.Module<Tensor, Tensor> model, int batch, int size, Device device)
    {
        var input = randn(batch, 3, size, size, device: device);
        return new Case(() =>
        {
            using var _ = inference_mode();
            model.call(input).Dispose();
            Synchronize(device);
        }, input);
    }

    /// <summary>One step of <see cref="TorchVisionModels.Training.Trainer"/>'s loop, with torchvision's reference SGD (lr 0.1, momentum 0.9, weight decay 1e-4).</summary>
    static Case TrainingStep(ResNet model, int batch, int size, Device device)
    {
        model.train();
        var input = randn(batch, 3, size, size, device: device);
        var target = randint(0, model.fc.out_features, batch, device: device);
        var optimizer = optim.SGD(model.parameters(), 0.1, momentum: 0.9, weight_decay: 1e-4);
        return new Case(() =>
        {
            using var scope = NewDisposeScope();
            var loss = nn.functional.cross_entropy(model.call(input), target);
            loss.backward();
            loss.item<float>();
            optimizer.step();
            optimizer.zero_grad();
            Synchronize(device);
        }, new Resources(input, target, optimizer));
    }

    /// <summary>CUDA runs asynchronously: wait for the GPU, so the clock measures the work, not its queuing.</summary>
    static void Synchronize(Device device)
    {
        if (device.type == DeviceType.CUDA)
            cuda.synchronize(device);
    }

    sealed class Resources(params IDisposable[] all) : IDisposable
    {
        public void Dispose()
        {
            foreach (var r in all)
                r.Dispose();
        }
    }

    static Row Measure(Case @case, int batch, int warmup, int iterations)
    {
        using var _ = @case.Resources;
        for (var i = 0; i < warmup; i++)
            @case.Run();
        var rssAfterWarmup = ResidentMegabytes("VmRSS:");
        var times = new double[iterations];
        for (var i = 0; i < iterations; i++)
        {
            var clock = Stopwatch.StartNew();
            @case.Run();
            times[i] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        var median = times[iterations / 2];
        return new Row(batch, median, times[Math.Min(iterations - 1, (int)Math.Ceiling(iterations * 0.9) - 1)], batch * 1000.0 / median,
            ResidentMegabytes("VmHWM:"), rssAfterWarmup, ResidentMegabytes("VmRSS:"));
    }

    /// <summary>A resident-memory line of /proc/self/status (VmHWM: peak, VmRSS: now) on Linux; the working set elsewhere.</summary>
    static double ResidentMegabytes(string field)
    {
        const string status = "/proc/self/status";
        if (File.Exists(status) && File.ReadLines(status).FirstOrDefault(l => l.StartsWith(field)) is { } line)
            return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        using var process = Process.GetCurrentProcess();
        return (field == "VmHWM:" ? process.PeakWorkingSet64 : process.WorkingSet64) / 1048576.0;
    }

    static void Write(TextWriter output, bool json, string architecture, InferenceBackend backend, string device, string dtype, string mode, int threads, List<Row> rows)
    {
        if (json)
        {
            var pointwise = backend == InferenceBackend.Torch ? new { kernel = PointwiseConvolution.Kernel.ToString(), reason = PointwiseConvolution.Reason } : null;
            JsonOutput.Write(output, new { model = architecture, backend = RunOptions.Name(backend), device, dtype, mode, threads, pointwise_convolutions = pointwise, results = rows });
            return;
        }
        output.WriteLine($"{architecture}, {RunOptions.Name(backend)}, {device}, {dtype}, {mode}, {threads} threads");
        if (backend == InferenceBackend.Torch)
            output.WriteLine($"1x1 convolutions on the CPU: {PointwiseConvolution.Kernel} ({PointwiseConvolution.Reason})");
        output.WriteLine($"  {"batch",5}  {"median ms",10}  {"p90 ms",10}  {"images/s",9}  {"peak RSS MB",11}");
        foreach (var r in rows)
            output.WriteLine($"  {r.BatchSize,5}  {r.MedianMs,10:F1}  {r.P90Ms,10:F1}  {r.ImagesPerSecond,9:F1}  {r.PeakRssMb,11:F0}");
    }
}
