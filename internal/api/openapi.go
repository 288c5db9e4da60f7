package api

import (
	"maps"
	"net/http"
)

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
			"/api/v1/assets": map[string]any{"get": map[string]any{
				"summary": "Lessons (recordings, uploads, clips), newest first, with their processing state",
				"parameters": []any{
					map[string]any{"name": "state", "in": "query", "schema": map[string]any{"enum": []string{"recording", "queued", "processing", "ready", "failed"}}},
					map[string]any{"name": "kind", "in": "query", "schema": map[string]any{"enum": []string{"recording", "upload", "clip"}}},
					map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "maximum": 500}},
					map[string]any{"name": "offset", "in": "query", "schema": map[string]any{"type": "integer"}},
				},
				"responses": map[string]any{"200": map[string]any{"description": `{"assets": [Asset], "total": n}`}, "400": jsonErr("bad filter")},
			}},
			"/api/v1/assets/{id}": map[string]any{"get": map[string]any{
				"summary":    "One lesson: state, step and percent while processing, the failure reason, renditions and URLs when ready",
				"parameters": []any{map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string"}}},
				"responses":  map[string]any{"200": map[string]any{"description": "Asset"}, "401": jsonErr("token needed"), "403": jsonErr("wrong token"), "404": jsonErr("no such lesson")},
			}},
			"/vod/{id}/{file}": map[string]any{"get": map[string]any{
				"summary": "HLS of a ready lesson: master.m3u8, <rendition>/index.m3u8, init.mp4, seg_N.m4s, poster.jpg, storyboard.vtt/.jpg. Supports Range.",
				"responses": map[string]any{"200": map[string]any{"description": "the file"}, "206": map[string]any{"description": "a byte range"},
					"302": map[string]any{"description": "presigned store URL (storage.s3.presign_redirect)"},
					"404": jsonErr("no such lesson or file"), "409": jsonErr("lesson not ready"), "416": jsonErr("bad range")},
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
	if s.opts.Auth != nil {
		maps.Copy(doc["paths"].(map[string]any), authOpenAPI(jsonErr))
	}
	if s.opts.Catalog != nil {
		maps.Copy(doc["paths"].(map[string]any), lessonsOpenAPI(jsonErr))
	}
	if s.opts.Uploads != nil {
		maps.Copy(doc["paths"].(map[string]any), uploadsOpenAPI(jsonErr))
	}
	writeJSON(w, http.StatusOK, doc)
}
