using Inference;

return Cli.Run(args);
