defmodule PhoenixChatWeb.ErrorHTML do
  @moduledoc "Error pages: the status text, nothing more."
  def render(template, _assigns), do: Phoenix.Controller.status_message_from_template(template)
end
