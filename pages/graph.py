from ui.boot import through_router
from ui.graph_view import graph_page

through_router()

graph_page(__file__)
