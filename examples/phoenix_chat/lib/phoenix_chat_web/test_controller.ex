defmodule PhoenixChatWeb.TestController do
  @moduledoc """
  The browser test's controls (routed only when `:test_controls` is set, in
  the test environment): `POST /test/kill-room` kills the component server
  and answers once the supervisor has started a new one.
  """
  use Phoenix.Controller, formats: [:json]

  @restart_wait_ms 120_000

  def kill_room(conn, _params) do
    old = Process.whereis(PhoenixChat.Room.server())
    Process.exit(old, :kill)
    deadline = System.monotonic_time(:millisecond) + @restart_wait_ms

    case await_new(old, deadline) do
      {:ok, new} -> json(conn, %{killed: inspect(old), restarted: inspect(new)})
      :timeout -> conn |> put_status(500) |> json(%{error: "the room was not restarted"})
    end
  end

  defp await_new(old, deadline) do
    case Process.whereis(PhoenixChat.Room.server()) do
      pid when is_pid(pid) and pid != old ->
        {:ok, pid}

      _ ->
        if System.monotonic_time(:millisecond) >= deadline do
          :timeout
        else
          Process.sleep(50)
          await_new(old, deadline)
        end
    end
  end
end
