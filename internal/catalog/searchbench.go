package catalog

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Vocabulary of the generated library: realistic Chinese subjects, grades, chapters,
// knowledge points and teacher names, so search measures what users will type.
var (
	seedSubjects = []string{"数学", "语文", "英语", "物理", "化学", "生物", "历史", "地理", "道德与法治", "信息技术"}
	seedGrades   = []string{"一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级", "八年级", "九年级", "高一", "高二", "高三"}
	seedTopics   = []string{"勾股定理", "一元二次方程", "相似三角形", "函数的图像", "分数的加减法", "圆的面积", "牛顿第一定律",
		"欧姆定律", "光的折射", "化学方程式", "酸和碱", "细胞的结构", "光合作用", "古诗两首", "背影", "春", "过去进行时",
		"现在完成时", "辛亥革命", "丝绸之路", "地球的运动", "气候类型", "有理数", "整式的乘法", "概率初步", "统计图",
		"平行四边形", "轴对称", "全等三角形", "二次函数", "机械能守恒", "电磁感应", "元素周期表", "遗传与变异"}
	seedFamily = []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林"}
	seedGiven  = []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "桂英", "建华"}
	seedPrefix = []string{"第一章", "第二章", "第三章", "第四章", "第五章", "第六章", "复习课", "公开课", "习题课"}
	seedSuffix = []string{"的证明", "的应用", "（第一课时）", "（第二课时）", "探究", "专题复习", "导学", ""}
)

// SeedLessons inserts n generated published lessons (three knowledge points each,
// spread over 200 schools in 10 districts and 2,000 teachers) for benchmarks, in
// batches inside one transaction. It is deterministic for a given seed.
func (c *Catalog) SeedLessons(ctx context.Context, n int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 1))
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("catalog: seed: %w", err)
	}
	defer tx.Rollback()
	const batch = 200
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	vis := []string{"public", "public", "district", "school", "link"}
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		var lessonArgsAll, pointArgs []any
		var pointRows int
		for i := start; i < end; i++ {
			teacher := r.IntN(2000)
			school := teacher % 200
			topic := seedTopics[r.IntN(len(seedTopics))]
			pts := []string{topic}
			for len(pts) < 3 {
				if p := seedTopics[r.IntN(len(seedTopics))]; !slices.Contains(pts, p) {
					pts = append(pts, p)
				}
			}
			created := base.Add(time.Duration(i) * time.Minute)
			l := Lesson{
				ID:              fmt.Sprintf("les-seed%08d", i),
				AssetID:         fmt.Sprintf("seed-asset-%08d", i),
				Title:           seedPrefix[r.IntN(len(seedPrefix))] + " " + topic + seedSuffix[r.IntN(len(seedSuffix))],
				TeacherID:       fmt.Sprintf("u-seed%04d", teacher),
				TeacherName:     seedFamily[teacher%len(seedFamily)] + seedGiven[(teacher/len(seedFamily))%len(seedGiven)],
				SchoolID:        fmt.Sprintf("s-seed%03d", school),
				District:        fmt.Sprintf("district-%d", school%10),
				Subject:         seedSubjects[r.IntN(len(seedSubjects))],
				Grade:           seedGrades[r.IntN(len(seedGrades))],
				TextbookEdition: "人教版",
				Chapter:         seedPrefix[r.IntN(6)],
				Description:     "本节课围绕" + topic + "展开，包括导入、新授、练习和小结。",
				Origin:          KindRecording,
				Duration:        time.Duration(20+r.IntN(30)) * time.Minute,
				KnowledgePoints: pts,
				State:           ReviewPublished,
				Visibility:      vis[r.IntN(len(vis))],
				CreatedAt:       created,
				UpdatedAt:       created,
				SubmittedAt:     created,
				ReviewedAt:      created,
				ReviewerID:      "u-seed-reviewer",
			}
			lessonArgsAll = append(lessonArgsAll, lessonArgs(&l)...)
			for j, p := range pts {
				pointArgs = append(pointArgs, l.ID, p, j)
				pointRows++
			}
		}
		rows := end - start
		if _, err := tx.ExecContext(ctx, c.q(`INSERT INTO lessons (`+lessonInsertColumns+`) VALUES `+
			placeholders(rows, 24)), lessonArgsAll...); err != nil {
			return fmt.Errorf("catalog: seed lessons: %w", err)
		}
		if _, err := tx.ExecContext(ctx, c.q(`INSERT INTO lesson_knowledge_points (lesson_id, point, sort) VALUES `+
			placeholders(pointRows, 3)), pointArgs...); err != nil {
			return fmt.Errorf("catalog: seed knowledge points: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("catalog: seed: %w", err)
	}
	// Fresh statistics, as a running catalog would have after autovacuum/ANALYZE.
	if _, err := c.db.ExecContext(ctx, `ANALYZE`); err != nil {
		return fmt.Errorf("catalog: seed: analyze: %w", err)
	}
	return nil
}

// placeholders is "(?, ?, ...), (?, ...)" for rows rows of cols columns.
func placeholders(rows, cols int) string {
	row := "(?" + strings.Repeat(", ?", cols-1) + ")"
	return row + strings.Repeat(", "+row, rows-1)
}

// SearchQuery is one typical library query, named for a report.
type SearchQuery struct {
	Name   string
	Filter LessonFilter
}

// TypicalSearches are the queries the library page makes most: a Chinese substring
// anywhere, a teacher, filters with and without a substring, a narrow signed-in view.
func TypicalSearches() []SearchQuery {
	viewer := &LessonAccess{UserID: "u-seed0007", SchoolID: "s-seed007", District: "district-7"}
	return []SearchQuery{
		{"q=勾股定理 (title/point substring), newest", LessonFilter{Q: "勾股定理", Limit: 20}},
		{"q=王伟 (teacher), newest", LessonFilter{Q: "王伟", Limit: 20}},
		{"q=方程, subject+grade filter", LessonFilter{Q: "方程", Subject: "数学", Grade: "八年级", Limit: 20}},
		{"subject+grade, sort title, page 3", LessonFilter{Subject: "物理", Grade: "八年级", Sort: SortTitle, Limit: 20, Offset: 40}},
		{"no filter, newest (library home)", LessonFilter{Limit: 20}},
		{"q=函数, signed-in visibility, newest", LessonFilter{Q: "函数", Limit: 20, Access: viewer}},
		{"q=xyz (no hit), sort duration", LessonFilter{Q: "不存在的词", Sort: SortDuration, Limit: 20}},
	}
}

// SearchTiming is the latency of one query over some runs.
type SearchTiming struct {
	Name     string
	Total    int // lessons matching
	P50, P95 time.Duration
}

// MeasureSearches runs each query runs times (after one warm-up) and reports p50/p95
// of ListLessons, the count query included.
func (c *Catalog) MeasureSearches(ctx context.Context, queries []SearchQuery, runs int) ([]SearchTiming, error) {
	out := make([]SearchTiming, 0, len(queries))
	for _, q := range queries {
		_, total, err := c.ListLessons(ctx, q.Filter)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.Name, err)
		}
		d := make([]time.Duration, runs)
		for i := range d {
			t0 := time.Now()
			if _, _, err := c.ListLessons(ctx, q.Filter); err != nil {
				return nil, fmt.Errorf("%s: %w", q.Name, err)
			}
			d[i] = time.Since(t0)
		}
		slices.Sort(d)
		out = append(out, SearchTiming{Name: q.Name, Total: total, P50: d[len(d)/2], P95: d[min(len(d)-1, len(d)*95/100)]})
	}
	return out, nil
}

// Dialect is "sqlite" or "postgres".
func (c *Catalog) Dialect() string { return c.dialect }
