using System.CommandLine;
using Inference.Commands;

namespace Inference;

/// <summary>The command line: <c>torchvision-resnet COMMAND [options]</c>.</summary>
public static class Cli
{
    /// <summary>Parses and runs <paramref name="args"/>; returns the exit code (<see cref="ExitCodes"/>).</summary>
    public static int Run(string[] args, InvocationConfiguration? configuration = null)
    {
        var parsed = Create().Parse(args);
        var exitCode = configuration is null ? parsed.Invoke() : parsed.Invoke(configuration);
        // System.CommandLine reports a parse error (unknown option, missing argument) with exit code 1, which here
        // means "some images failed": a bad command line is a bad input.
        return parsed.Errors.Count > 0 ? ExitCodes.BadInput : exitCode;
    }

    /// <summary>The root command with every subcommand.</summary>
    public static RootCommand Create() => new($"torchvision's ResNet family on TorchSharp. {ExitCodes.Help}")
    {
        BenchCommand.Create(),
        ClassifyCommand.Create(),
        EvaluateCommand.Create(),
        ExportCommand.Create(),
        FinetuneCommand.Create(),
        InfoCommand.Create(),
        MergeCommand.Create(),
        ServeCommand.Create(),
    };
}
