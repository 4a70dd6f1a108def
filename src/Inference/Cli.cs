using System.CommandLine;
using Inference.Commands;

namespace Inference;

/// <summary>The command line: <c>torchvision-resnet COMMAND [options]</c>.</summary>
public static class Cli
{
    /// <summary>The root command with every subcommand.</summary>
    public static RootCommand Create() => new("torchvision's ResNet family on TorchSharp.")
    {
        BenchCommand.Create(),
        ClassifyCommand.Create(),
        EvaluateCommand.Create(),
        ExportCommand.Create(),
        FinetuneCommand.Create(),
        InfoCommand.Create(),
    };
}
