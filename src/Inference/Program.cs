using Inference;

return Cli.Create().Parse(args).Invoke();
