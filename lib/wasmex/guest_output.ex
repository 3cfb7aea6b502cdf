defmodule Wasmex.GuestOutput do
  @moduledoc false
  # Sends the lines a guest wrote to stdout and stderr to Logger, for stores made with
  # `log_output: true` (`Wasmex.Wasi.WasiOptions`, `Wasmex.Wasi.WasiP2Options`). The NIF keeps
  # the lines (`Native.store_take_output/2`); the servers call `log/3` after each call.

  require Logger

  alias Wasmex.Native

  @doc false
  # Whether the WASI options of a server's start asked for logging.
  @spec wanted?(term()) :: boolean()
  def wanted?(%{log_output: true}), do: true
  def wanted?(_wasi), do: false

  @doc false
  # Logs the complete lines waiting in `store` (a store resource): stdout at `:info`, stderr at
  # `:warning`, with the stream, the server and the function in the metadata.
  @spec log(reference(), term(), term()) :: :ok
  def log(store, function, server \\ server_name()) do
    case Native.store_take_output(store, false) do
      {:ok, [_ | _] = lines} ->
        for {stream, line} <- lines do
          Logger.log(level(stream), line,
            wasm_stream: stream,
            wasm_server: server,
            wasm_function: function
          )
        end

        :ok

      _ ->
        :ok
    end
  end

  defp level(:stdout), do: :info
  defp level(:stderr), do: :warning

  defp server_name do
    case Process.info(self(), :registered_name) do
      {:registered_name, name} when is_atom(name) -> name
      _ -> self()
    end
  end
end
