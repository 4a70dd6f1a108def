using System.Diagnostics;
using System.Reflection;

namespace TestSupport;

/// <summary>
/// Runs a test's body in a child process: native code can kill a process (oneDNN's SIGFPE) where no .NET exception
/// is raised, and a regression there must fail one test with a message, not abort the whole run. The child is this
/// test assembly started again (<see cref="Main"/>), calling the same static method with the same arguments.
/// </summary>
static class ChildProcess
{
    static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    /// <summary>Runs <paramref name="body"/>(<paramref name="arguments"/>) in a new process; fails with its output if it fails or dies, and returns the output.</summary>
    public static string Run(Action<string[]> body, params string[] arguments) => Run(body, new Dictionary<string, string>(), arguments);

    /// <summary>As <see cref="Run(Action{string[]}, string[])"/>, with these environment variables set in the child.</summary>
    public static string Run(Action<string[]> body, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var method = body.Method;
        using var process = Start(body, environment, arguments);
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{method.Name}({string.Join(", ", arguments)}) did not finish within {Timeout.TotalMinutes} minutes in its child process.");
        }
        var text = (output.Result + error.Result).Trim();
        Assert.True(process.ExitCode == 0, process.ExitCode > 128
            ? $"{method.Name}({string.Join(", ", arguments)}) killed its process with signal {process.ExitCode - 128}{SignalName(process.ExitCode - 128)}. Output:\n{text}"
            : $"{method.Name}({string.Join(", ", arguments)}) failed in its child process:\n{text}");
        return text;
    }

    /// <summary>Starts <paramref name="body"/>(<paramref name="arguments"/>) in a new process, its output redirected, and returns it running.</summary>
    public static Process Start(Action<string[]> body, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var method = body.Method;
        if (!method.IsStatic)
            throw new ArgumentException($"{method.Name} must be static to run in a child process.", nameof(body));
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in (string[])["exec", typeof(ChildProcess).Assembly.Location, method.DeclaringType!.FullName!, method.Name, .. arguments])
            start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        return Process.Start(start)!;
    }

    static string SignalName(int signal) => signal switch
    {
        4 => " (SIGILL)",
        6 => " (SIGABRT)",
        8 => " (SIGFPE: an integer division by zero in native code)",
        11 => " (SIGSEGV)",
        _ => "",
    };

    /// <summary>The child's entry point: <c>TYPE METHOD ARGUMENTS...</c>; exit code 0 when the method returns, 1 with the failure when it throws.</summary>
    public static int Main(string[] args)
    {
        try
        {
            var type = typeof(ChildProcess).Assembly.GetType(args[0], throwOnError: true)!;
            var method = type.GetMethod(args[1], BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!;
            method.Invoke(null, [args[2..]]);
            return 0;
        }
        catch (TargetInvocationException e)
        {
            Console.Error.WriteLine(e.InnerException);
            return 1;
        }
    }
}
