package api

import "net/http"

// openapi serves a small OpenAPI 3.1 description of the endpoints this node has.
func (s *Server) openapi(w http.ResponseWriter, _ *http.Request) {
	errorRef := map[string]any{"$ref": "#/components/schemas/Error"}
	jsonErr := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": errorRef}}}
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "classcast API", "version": "1"},
		"paths": map[string]any{
			"/api/v1/streams": map[string]any{"get": map[string]any{
				"summary":   "List streams on this node (live and idle)",
				"responses": map[string]any{"200": map[string]any{"description": "streams"}},
			}},
			"/api/v1/streams/{path}": map[string]any{"get": map[string]any{
				"summary":    "One stream",
				"parameters": []any{map[string]any{"name": "path", "in": "path", "required": true, "schema": map[string]any{"type": "string"}}},
				"responses":  map[string]any{"200": map[string]any{"description": "stream"}, "404": jsonErr("unknown stream")},
			}},
			"/api/v1/sources": map[string]any{"get": map[string]any{
				"summary":   "RTSP pull sources and their state",
				"responses": map[string]any{"200": map[string]any{"description": "sources"}},
			}},
			"/whep/{path}": map[string]any{"post": map[string]any{
				"summary":     "WHEP (RFC 9725): watch a stream over WebRTC",
				"requestBody": map[string]any{"content": map[string]any{"application/sdp": map[string]any{}}},
				"responses": map[string]any{
					"201": map[string]any{"description": "SDP answer; Location is the session URL"},
					"400": jsonErr("unusable offer"), "401": jsonErr("token needed"), "403": jsonErr("wrong token"),
					"404": jsonErr("stream not found"), "503": jsonErr("node full or closing"),
				},
			}},
			"/whep/sessions/{id}": map[string]any{"delete": map[string]any{
				"summary":   "End a WHEP session",
				"responses": map[string]any{"200": map[string]any{"description": "ended"}, "404": jsonErr("unknown session")},
			}},
		},
		"components": map[string]any{"schemas": map[string]any{"Error": map[string]any{
			"type": "object",
			"properties": map[string]any{"error": map[string]any{"type": "object", "properties": map[string]any{
				"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"},
			}}},
		}}},
	}
	writeJSON(w, http.StatusOK, doc)
}
