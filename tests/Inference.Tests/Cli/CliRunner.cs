using System.CommandLine;

namespace Inference.Tests.Cli;

/// <summary>Runs the app's command line in process, capturing what it prints.</summary>
static class CliRunner
{
    public static (int exitCode, string output, string error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = Inference.Cli.Run(args, new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }
}
