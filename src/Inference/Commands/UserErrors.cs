using System.CommandLine;

namespace Inference.Commands;

/// <summary>Turns the errors a user can fix (a bad option, file or model) into one line on stderr and exit code 2.</summary>
static class UserErrors
{
    public const int ExitCode = 2;

    public static int Report(ParseResult result, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or IOException or UnauthorizedAccessException)
        {
            // .NET appends " (Parameter 'name')" to ArgumentException messages: noise for a command-line user.
            var message = e is ArgumentException { ParamName: { } name } ? e.Message.Replace($" (Parameter '{name}')", "") : e.Message;
            result.InvocationConfiguration.Error.WriteLine($"error: {message}");
            return ExitCode;
        }
    }
}
